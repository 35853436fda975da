"""NVIDIA GPU checks through NVML (nvidia-ml-py, module `pynvml`), probed in a child process,
and the VRAM budget of a llama_cpp profile that offloads layers.

    find_spec("pynvml")? ─no─► skip (or warn when an NVIDIA driver is visible)
    run_probe("nvml")    ─► nvmlInit, driver, CUDA driver version, per GPU name/memory/cc
        NVMLError_LibraryNotFound / DriverNotLoaded / NoPermission / LibRmVersionMismatch
        ─► advice; a machine without NVIDIA is "skip", never "fail"
"""

from __future__ import annotations

import sys

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context, human_bytes

DRIVER_URL = "https://www.nvidia.com/Download/index.aspx"
NVML_LIB_WIN = r"System32\nvml.dll"
# CUDA 12.x minor-version compatibility: the oldest driver that runs any CUDA 12 build
CUDA12_DRIVER_WINDOWS = (527, 41)
CUDA12_DRIVER_LINUX = (525, 60, 13)


def _nvml_advice(error: str) -> tuple[str, str]:
    win = shell.windows()
    return {
        "NVMLError_DriverNotLoaded": (
            "the NVIDIA driver is not loaded",
            f"reinstall the NVIDIA driver from {DRIVER_URL}" if win
            else "sudo modprobe nvidia   (or reboot)"),
        "NVMLError_NoPermission": (
            "no permission to talk to the NVIDIA driver",
            "run the terminal as the user who owns the GPU session" if win
            else "sudo usermod -aG video $USER   (then log out and in)"),
        "NVMLError_LibRmVersionMismatch": (
            "the NVML library and the loaded kernel driver have different versions",
            "restart the computer (the old driver is still loaded after an update)"),
        "ImportError": (
            "pynvml cannot be imported",
            shell.pip("install", "--force-reinstall", "nvidia-ml-py")),
    }.get(error, (f"NVML failed: {error}", shell.pip("install", "--force-reinstall",
                                                      "nvidia-ml-py")))


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_gpu(ctx: Context) -> Check:
    name = "nvidia gpu"
    gpu = ctx.gpu()
    needs_gpu = ctx.gpu_layers() != 0
    if not gpu.installed and not gpu.gpus:
        if gpu.nvidia_hint:
            return Check(name, "warn", "an NVIDIA driver is present but neither nvidia-ml-py "
                         "nor nvidia-smi answers: GPU memory and driver cannot be checked",
                         shell.pip("install", "nvidia-ml-py"))
        return Check(name, "skip", "no NVIDIA driver found (and nvidia-ml-py not installed)")
    if gpu.error == "NVMLError_LibraryNotFound":
        if gpu.nvidia_hint or needs_gpu:
            return Check(name, "warn", "the NVML library was not found although a GPU is "
                         "expected (the driver provides it: "
                         f"{NVML_LIB_WIN if shell.windows() else 'libnvidia-ml.so.1'})",
                         f"reinstall the NVIDIA driver from {DRIVER_URL}")
        return Check(name, "skip", "no NVIDIA driver / NVML library on this machine")
    if gpu.error:
        detail, fix = _nvml_advice(gpu.error)
        return Check(name, "fail" if needs_gpu else "warn",
                     f"{detail} ({gpu.error}: {gpu.message})".replace(": )", ")"), fix)
    if not gpu.gpus:
        return Check(name, "skip", f"{gpu.source} works (driver {gpu.driver}) but sees no GPU")
    cuda = f"{gpu.cuda_driver[0]}.{gpu.cuda_driver[1]}" if gpu.cuda_driver else "?"
    parts = []
    problems: list[tuple[str, str]] = []
    for g in gpu.gpus:
        cc = g.get("compute_capability")
        cc_text = f"{cc[0]}.{cc[1]}" if cc else "?"
        parts.append(f"GPU{g['index']} {g['name']} {human_bytes(g['total'])} "
                     f"(free {human_bytes(g['free'])}) cc {cc_text}")
        if cc and tuple(cc) < (6, 0):
            from evalcli.doctor.cuda import build_command, pinned_version

            problems.append((f"GPU{g['index']} compute capability {cc_text} is below 6.0: "
                             "no prebuilt CUDA wheel runs on it",
                             build_command([tuple(cc)], pinned_version(None))))
    floor = CUDA12_DRIVER_WINDOWS if shell.windows() else CUDA12_DRIVER_LINUX
    if gpu.driver and _version_tuple(gpu.driver) < floor:
        problems.append((f"driver {gpu.driver} is older than {'.'.join(map(str, floor))}, "
                         "the minimum for CUDA 12 wheels (minor-version compatibility; CUDA 13 "
                         "needs 580+)", f"update the NVIDIA driver: {DRIVER_URL}"))
    if (sys.platform == "win32" and ctx.engine_name == "ollama"
            and _version_tuple(gpu.driver) < (551, 61)):
        problems.append((f"driver {gpu.driver} is older than 551.61, which Ollama on Windows "
                         "needs", f"update the NVIDIA driver: {DRIVER_URL}"))
    detail = (f"driver {gpu.driver}, CUDA {cuda}"
              f"{' (from nvidia-smi; nvidia-ml-py not installed)' if gpu.source != 'nvml' else ''}"
              "; " + "; ".join(parts))
    if problems:
        return Check(name, "warn", detail + "; " + "; ".join(p for p, _ in problems),
                     problems[0][1])
    return Check(name, "ok", detail)


def check_vram(ctx: Context) -> Check:
    """The run's own estimate (evalcli/inputs/vram.py): doctor and the worker cap agree."""
    from evalcli.inputs import vram

    name = "vram budget"
    layers = ctx.gpu_layers()
    if ctx.engine_name != "llama_cpp" or layers == 0:
        return Check(name, "skip", "no llama_cpp profile that offloads layers (n_gpu_layers != 0)")
    model = ctx.llama_model()
    if model is None or not model.is_file():
        return Check(name, "skip", f"model file not available: {model}")
    if sys.platform == "darwin":
        return Check(name, "skip", "Apple GPUs share system memory: see the memory check")
    gpu = ctx.gpu()
    if not gpu.gpus:
        return Check(name, "warn", f"n_gpu_layers = {layers} but no NVIDIA GPU is visible "
                     "(NVML / nvidia-smi)", "set engine.options.n_gpu_layers = 0 in the profile, "
                     f"or install the NVIDIA driver ({DRIVER_URL}) and "
                     f"{shell.pip('install', 'nvidia-ml-py')}")
    opts = ctx.options
    plan = vram.budget(model, opts.n_ctx, layers, opts.n_batch, ctx.workers,
                       [g["free"] for g in gpu.gpus], getattr(opts, "gpu_placement", "split"))
    return vram_verdict(plan, windows=shell.windows())


SYSMEM_FALLBACK = ("on Windows the driver's sysmem fallback (driver 536.40+) then moves "
                   "VRAM to system RAM: nothing fails, generation gets several times slower")


def vram_verdict(plan, windows: bool) -> Check:
    """ok / tight / fewer workers than asked (the run starts only `fits`) / not even one."""
    from evalcli.inputs import vram

    name, workers, fits = "vram budget", plan.workers, plan.fits
    detail = plan.text()
    if len(plan.free) > 1 and plan.placement != "per_worker":
        detail += ("; each worker spreads its layers over every GPU (llama.cpp's default); "
                   "for large models one worker per GPU is better: engine.options.gpu_placement = "
                   '"per_worker" (docs/doctor.md)')
    if fits == 0:
        most = vram.max_layers(plan)
        fix = (f"set engine.options.n_gpu_layers = {most} (fewer layers on the GPU), or a "
               "smaller n_ctx / model" if most else "use a smaller model (not even the "
               "CUDA context and one layer fit), or close other programs using the GPU")
        if windows:
            return Check(name, "warn", f"{detail}: not even one worker fits; {SYSMEM_FALLBACK}",
                         fix)
        return Check(name, "fail", f"{detail}: not even one worker fits (CUDA out of memory "
                     "at load)", fix)
    if fits < workers:
        return Check(name, "warn", f"{detail}: only {fits} worker(s) fit, and the run starts "
                     f"only {fits} (each worker loads its own copy)",
                     f"set engine.workers = {fits} (or a smaller n_ctx / model)")
    if workers * plan.one.gpu > 0.9 * sum(plan.free):
        return Check(name, "warn", detail + " (tight: other programs using the GPU can push it "
                     f"over{'; ' + SYSMEM_FALLBACK if windows else ''})",
                     f"set engine.workers = {max(1, workers - 1)}, or close other programs "
                     "that use the GPU" if workers > 1 else "close other programs that use "
                     "the GPU (browsers, games, overlays), or lower engine.options.n_ctx")
    return Check(name, "ok", detail)
