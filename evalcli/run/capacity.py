"""How many engine workers this machine can run, and the HTTP request timeout that fits the
unit timeout. Decided in the parent before any spawn; each adjustment is a one-line note.

    every engine   at most MAX_WORKERS processes (each worker is its own Python process)
    llama_cpp      each worker loads its own copy of the model: workers x the VRAM estimate
                   of evalcli/inputs/vram.py (offloaded weights + KV cache + compute + CUDA
                   context, per GPU) must fit in free VRAM, and workers x (weights left on
                   the CPU + overhead) in free RAM
    HTTP engines   timeout_s at most half of run.unit_timeout_s, so a slow request times out
                   in the engine and is retried before the supervisor's unit timeout kills it
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from evalcli import environment
from evalcli.inputs import vram

MAX_WORKERS = 32  # about 30 MB of RAM per idle worker process; more only burns memory
WORKER_OVERHEAD = 256 << 20  # llama.cpp context, buffers and the Python process, per worker


def _mb(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= (1 << 30) else f"{n / (1 << 20):.0f} MiB"


def general_cap(cap: int | None, reason: str) -> tuple[int, str]:
    if cap is not None and cap <= MAX_WORKERS:
        return cap, reason
    return MAX_WORKERS, f"at most {MAX_WORKERS} worker processes on one machine"


def llama_memory_cap(options: Any, requested: int,
                     free: tuple[int | None, list[int] | None] | None = None
                     ) -> tuple[int | None, str]:
    """(workers that fit, the arithmetic) for llama_cpp; (None, "") when they all fit or it
    cannot be told. `free` = (free RAM, free VRAM per GPU) in bytes, measured when not given.
    VRAM: the estimate evalcli doctor prints (evalcli/inputs/vram.py); RAM: the part of the
    weights that stays on the CPU, plus the per-process overhead."""
    model = Path(options.model)
    if not model.is_file():
        return None, ""  # the pre-flight check says what is wrong with the model
    size = model.stat().st_size
    layers = getattr(options, "n_gpu_layers", 0)
    if free is None:
        free = (environment.memory_bytes()[1], _free_vram() if layers != 0 else None)
    ram, gpus = free
    count = getattr(options, "gpu_count", 0)
    if gpus and getattr(options, "gpu_placement", "split") == "per_worker" and count:
        gpus = gpus[:count]  # the GPUs the workers are placed on
    fits, why = requested, ""
    if layers != 0 and gpus:
        plan = vram.budget(model, options.n_ctx, layers, options.n_batch, requested, gpus,
                           getattr(options, "gpu_placement", "split"))
        if plan.fits < requested:
            fits = max(1, plan.fits)
            why = (f"each llama_cpp worker loads its own copy of the model: {plan.text()}"
                   + (" (on Windows the driver then spills to system RAM: the run slows down "
                      "instead of failing)" if sys.platform == "win32" else ""))
        on_cpu = size - plan.one.weights
    else:
        on_cpu = size
    if on_cpu > 0 and ram is not None:
        per_worker = on_cpu + WORKER_OVERHEAD
        ram_fits = max(1, ram // per_worker)
        if ram_fits < fits:
            fits = ram_fits
            why = (f"each llama_cpp worker loads its own copy of the model: {requested} x "
                   f"({_mb(on_cpu)} {'model' if on_cpu == size else 'of weights left in RAM'} + "
                   f"{_mb(WORKER_OVERHEAD)} overhead) = "
                   f"{_mb(requested * per_worker)}, but {_mb(ram)} of RAM is free")
    return (fits, why) if fits < requested else (None, "")


def _free_vram() -> list[int] | None:
    gpus = environment.gpu_info()
    if not gpus:
        return None
    return [(gpu["memory_total_mb"] - gpu["memory_used_mb"]) << 20 for gpu in gpus]


def request_timeout(options: Any, unit_timeout_s: float | None) -> tuple[float | None, str]:
    """A lowered timeout_s for an HTTP engine, and why; (None, "") when it already fits."""
    timeout = getattr(options, "timeout_s", None)
    if timeout is None or not unit_timeout_s or timeout <= unit_timeout_s / 2:
        return None, ""
    lowered = unit_timeout_s / 2
    return lowered, (f"engine.options.timeout_s lowered from {timeout:g} to {lowered:g} s "
                     f"(half of run.unit_timeout_s = {unit_timeout_s:g} s), so a slow request "
                     "is retried before the unit times out")
