"""How many engine workers this machine can run, and the HTTP request timeout that fits the
unit timeout. Decided in the parent before any spawn; each adjustment is a one-line note.

    every engine   at most MAX_WORKERS processes (each worker is its own Python process)
    llama_cpp      each worker loads its own copy of the model: workers x (model + overhead)
                   must fit in free RAM (or free VRAM when every layer is offloaded to a GPU)
    HTTP engines   timeout_s at most half of run.unit_timeout_s, so a slow request times out
                   in the engine and is retried before the supervisor's unit timeout kills it
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalcli import environment

MAX_WORKERS = 32  # about 30 MB of RAM per idle worker process; more only burns memory
WORKER_OVERHEAD = 256 << 20  # llama.cpp context, buffers and the Python process, per worker


def _mb(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= (1 << 30) else f"{n / (1 << 20):.0f} MiB"


def general_cap(cap: int | None, reason: str) -> tuple[int, str]:
    if cap is not None and cap <= MAX_WORKERS:
        return cap, reason
    return MAX_WORKERS, f"at most {MAX_WORKERS} worker processes on one machine"


def llama_memory_cap(options: Any, requested: int,
                     free: tuple[int | None, int | None] | None = None) -> tuple[int | None, str]:
    """(workers that fit, the arithmetic) for llama_cpp; (None, "") when it cannot be told.
    `free` = (free RAM, free VRAM) in bytes, measured when not given."""
    model = Path(options.model)
    if not model.is_file():
        return None, ""  # the pre-flight check says what is wrong with the model
    size = model.stat().st_size
    on_gpu = getattr(options, "n_gpu_layers", 0) < 0
    if free is None:
        free = (environment.memory_bytes()[1], _free_vram() if on_gpu else None)
    ram, vram = free
    if on_gpu and vram is not None:
        where, budget, per_worker = "VRAM", vram, size + WORKER_OVERHEAD
    elif ram is not None:
        where, budget, per_worker = "RAM", ram, size + WORKER_OVERHEAD
    else:
        return None, ""
    fits = max(1, budget // per_worker)
    if fits >= requested:
        return None, ""
    return fits, (f"each llama_cpp worker loads its own copy of the model: {requested} x "
                  f"({_mb(size)} model + {_mb(WORKER_OVERHEAD)} overhead) = "
                  f"{_mb(requested * per_worker)}, but {_mb(budget)} of {where} is free")


def _free_vram() -> int | None:
    gpus = environment.gpu_info()
    if not gpus:
        return None
    gpu = gpus[0]
    return (gpu["memory_total_mb"] - gpu["memory_used_mb"]) << 20


def request_timeout(options: Any, unit_timeout_s: float | None) -> tuple[float | None, str]:
    """A lowered timeout_s for an HTTP engine, and why; (None, "") when it already fits."""
    timeout = getattr(options, "timeout_s", None)
    if timeout is None or not unit_timeout_s or timeout <= unit_timeout_s / 2:
        return None, ""
    lowered = unit_timeout_s / 2
    return lowered, (f"engine.options.timeout_s lowered from {timeout:g} to {lowered:g} s "
                     f"(half of run.unit_timeout_s = {unit_timeout_s:g} s), so a slow request "
                     "is retried before the unit times out")
