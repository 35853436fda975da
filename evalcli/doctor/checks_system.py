"""Machine resources and offline readiness: CPU cores vs the profile's threads, RAM vs the
workers' model copies, free disk for runs and the user cache, and tiktoken's file cache."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from evalcli.doctor.check import Check, Context, human_bytes
from evalcli.environment import memory_bytes

DISK_FAIL = 200 << 20
DISK_WARN = 2 << 30
CL100K_SHA1 = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # sha1 of the cl100k_base URL


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_cpu(ctx: Context) -> Check:
    cores = usable_cores()
    total = os.cpu_count() or cores
    detail = f"{cores} usable core(s)" + (f" of {total}" if total != cores else "")
    if ctx.engine_name != "llama_cpp":
        return Check("cpu", "ok", detail)
    threads = ctx.options.n_threads
    busy = ctx.workers * threads
    detail += f"; profile: {ctx.workers} worker(s) × n_threads {threads} = {busy} thread(s)"
    fix = (f"set engine.options.n_threads = 0 (= cores / workers = {max(1, cores // ctx.workers)})"
           " or lower engine.workers")
    if busy > 4 * cores:
        return Check("cpu", "fail", detail + ": heavily oversubscribed, the run will crawl", fix)
    if busy > cores:
        return Check("cpu", "warn", detail + ": more threads than cores slows every worker", fix)
    return Check("cpu", "ok", detail)


def check_memory(ctx: Context) -> Check:
    total, available = memory_bytes()
    if total is None:
        return Check("memory", "skip", "this platform does not report RAM (install psutil)")
    detail = f"{human_bytes(total)} RAM" + (f", {human_bytes(available)} available"
                                           if available is not None else "")
    model = ctx.llama_model() if ctx.engine_name == "llama_cpp" else None
    if model is None or not model.is_file():
        if available is not None and available < (1 << 30):
            return Check("memory", "warn", detail + ": under 1 GiB free",
                         "close other programs before a run")
        return Check("memory", "ok", detail)
    size = model.stat().st_size
    offloaded = ctx.options.n_gpu_layers < 0 and ctx.facts.get("llama_gpu_offload", False)
    per_worker = (256 << 20) if offloaded else size + (256 << 20)
    need = ctx.workers * per_worker
    detail += (f"; {ctx.workers} worker(s) × ~{human_bytes(per_worker)}"
               f"{' (model on the GPU)' if offloaded else ' (model in RAM)'} = ~{human_bytes(need)}")
    fits = max(1, total // per_worker)
    fix = (f"set engine.workers = {fits} (each worker loads its own copy)"
           if fits < ctx.workers else "close other programs, or use a smaller model")
    if need > total:
        return Check("memory", "fail", detail + ": more than this machine has", fix)
    if available is not None and need > available:
        return Check("memory", "warn", detail + ": more than is free now", fix)
    return Check("memory", "ok", detail)


def _existing(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_disk(ctx: Context) -> Check:
    from evalcli.inputs.demo_model import user_cache_dir

    parts, worst, fixes = [], "ok", []
    for label, path in (("runs", ctx.runs_dir), ("cache", user_cache_dir())):
        where = _existing(Path(path))
        try:
            free = shutil.disk_usage(where).free
        except OSError as exc:
            parts.append(f"{label} {path}: cannot read ({exc})")
            worst = "fail" if worst != "fail" else worst
            continue
        parts.append(f"{label} folder {path}: {human_bytes(free)} free")
        if free < DISK_FAIL:
            worst = "fail"
            fixes.append(f"free space on the drive of {where}")
        elif free < DISK_WARN and worst == "ok":
            worst = "warn"
            fixes.append(f"the drive of {where} is nearly full")
    if worst == "fail":
        fixes.append("runs need room for results and reports; the demo model takes 250 MB "
                     "(EVALCLI_CACHE_DIR moves the cache, --runs-dir the runs)")
    return Check("disk", worst, "; ".join(parts), "; ".join(fixes))


def tiktoken_cache_dir() -> Path | None:
    """tiktoken 0.14's cache folder; None when caching is disabled (TIKTOKEN_CACHE_DIR="")."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        value = os.environ["TIKTOKEN_CACHE_DIR"]
        return Path(value) if value else None
    if os.environ.get("DATA_GYM_CACHE_DIR"):
        return Path(os.environ["DATA_GYM_CACHE_DIR"])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def check_tiktoken(ctx: Context) -> Check:
    name = "tiktoken offline"
    cache = tiktoken_cache_dir()
    source = ("TIKTOKEN_CACHE_DIR" if "TIKTOKEN_CACHE_DIR" in os.environ else
              "DATA_GYM_CACHE_DIR" if os.environ.get("DATA_GYM_CACHE_DIR") else "default")
    note = "evalcli counts tokens with the engine's own tokenizer; tiktoken is optional"
    if cache is None:
        return Check(name, "warn", f"TIKTOKEN_CACHE_DIR is empty: caching disabled ({note})",
                     "Remove-Item Env:TIKTOKEN_CACHE_DIR" if sys.platform == "win32"
                     else "unset TIKTOKEN_CACHE_DIR")
    cached = (cache / CL100K_SHA1).is_file()
    detail = f"cache {cache} ({source}): cl100k_base {'cached' if cached else 'not cached'}"
    if cached:
        return Check(name, "ok", f"{detail}; {note}")
    # informational: evalcli never needs tiktoken for local engines
    return Check(name, "ok", f"{detail}: tiktoken would download it on first use (offline: "
                 f"put cl100k_base.tiktoken in {cache} named {CL100K_SHA1}); {note}")
