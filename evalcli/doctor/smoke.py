"""The smoke load: a GGUF loaded in a child (n_ctx 512, 8 greedy tokens, llama.cpp's log on
stderr), and what its log says happened.

    run_probe("smoke", model, n_gpu_layers, n_threads)
      ok     ─► load s, tokens/s, "offloaded N/M layers to GPU" vs n_gpu_layers
      failed ─► classify_load_error(stderr): CUDA out of memory | no kernel image for this GPU
                | driver too old for the build | illegal instruction | a crash (import
                classifier) | a file this llama.cpp cannot read
"""

from __future__ import annotations

import os
import re

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context
from evalcli.doctor.checks_llama import classify_child_failure, describe_returncode, gpu_facts
from evalcli.doctor.cuda import FALLBACK_VERSION, build_command, cuda_advice
from evalcli.doctor.probe import run_probe

SMOKE_TIMEOUT_S = 60.0

_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_N_LAYER = re.compile(r"n_layer\s*=\s*(\d+)")
_OOM = ("out of memory", "cudamalloc failed", "failed to allocate cuda",
        "unable to allocate cuda", "cuda error 2 ")
_NO_KERNEL = ("no kernel image is available", "cuda error 209")
_OLD_DRIVER = ("driver version is insufficient", "cuda error 35")


def offloaded(log: str) -> tuple[int, int] | None:
    match = _OFFLOADED.search(log)
    return (int(match.group(1)), int(match.group(2))) if match else None


def classify_load_error(ctx: Context, returncode: int | None, log: str,
                        model: str) -> tuple[str, str]:
    """(detail, fix) for a smoke load that failed."""
    lower = log.lower()
    ccs, driver = gpu_facts(ctx)
    version = ctx.facts.get("llama_version")
    line = next((ln.strip() for ln in reversed(log.splitlines())
                 if any(k in ln.lower() for k in (*_OOM, *_NO_KERNEL, *_OLD_DRIVER, "error"))),
                "")
    if any(k in lower for k in _OOM):
        layers = _N_LAYER.search(log)
        half = max(1, int(layers.group(1)) // 2) if layers else 8
        return (f"CUDA out of memory loading {model} ({line[:160]})",
                f"set engine.options.n_gpu_layers = {half} (or a smaller n_ctx / model; close "
                "other programs using the GPU)")
    if any(k in lower for k in _NO_KERNEL):
        why, command = cuda_advice(ccs, driver, version)
        return (f"this build has no CUDA kernels for this GPU (\"no kernel image is "
                f"available\"); {why}", command)
    if any(k in lower for k in _OLD_DRIVER):
        return ("the NVIDIA driver is older than the CUDA runtime of this build (CUDA error "
                f"35); {cuda_advice(ccs, driver, version)[0]}",
                cuda_advice(ccs, driver, version)[1] + "   (or update the NVIDIA driver: "
                "https://www.nvidia.com/Download/index.aspx)")
    detail, fix = classify_child_failure(returncode, log, ccs=ccs, driver=driver,
                                         installed=version)
    if detail.startswith("import failed"):
        tail = " | ".join(ln.strip() for ln in log.strip().splitlines()[-2:])
        return (f"loading {model} failed (exit {describe_returncode(returncode)}): {tail[:240]}",
                "check the file: it must be a complete GGUF of an architecture this "
                f"llama-cpp-python {version or ''} supports (re-download it, or "
                f"{shell.pip('install', '--upgrade', 'llama-cpp-python')})")
    return detail, fix


def check_smoke(ctx: Context) -> Check:
    name = "llama.cpp smoke load"
    model = ctx.llama_model()
    if model is None:
        return Check(name, "skip", "no model to load (pass --model PATH.gguf, or --profile "
                     "local-llamacpp for the demo model)")
    if not ctx.facts.get("llama_usable"):
        return Check(name, "skip", "llama-cpp-python is not usable (see its row)")
    explicit = ctx.model_arg is not None
    if not model.is_file():
        if explicit:
            return Check(name, "fail", f"model file not found: {model}",
                         "pass --model with the path of an existing .gguf file")
        return Check(name, "skip", f"the demo model is not assembled yet: {model}")
    with open(model, "rb") as fh:
        if fh.read(4) != b"GGUF":
            return Check(name, "fail", f"{model} is not a GGUF file (bad magic)",
                         "pass --model with the path of a .gguf file")
    if ctx.engine_name == "llama_cpp":
        layers, threads = ctx.options.n_gpu_layers, ctx.options.n_threads
    else:
        layers = -1 if ctx.facts.get("llama_gpu_offload") else 0
        threads = max(1, os.cpu_count() or 1)
    result = run_probe("smoke", str(model), str(layers), str(threads), timeout=SMOKE_TIMEOUT_S)
    if result.returncode is None and ctx.facts.get("ptx_jit"):
        ccs, _ = gpu_facts(ctx)
        return Check(name, "warn", f"loading {model.name} did not finish within "
                     f"{SMOKE_TIMEOUT_S:.0f} s: this build reaches the GPU only through PTX "
                     "JIT, and the first load compiles every kernel (minutes; the driver "
                     "caches them, later loads are fast) - not a sign that n_gpu_layers is "
                     "wrong", build_command(ccs, ctx.facts.get("llama_version") or
                                            FALLBACK_VERSION))
    if result.returncode is None:
        return Check(name, "warn", f"loading {model.name} and 8 tokens did not finish within "
                     f"{SMOKE_TIMEOUT_S:.0f} s (a large model on a slow disk, or swapping?)",
                     "set engine.options.n_gpu_layers = -1 on a GPU, or use a smaller model")
    if result.returncode != 0 or result.data is None:
        detail, fix = classify_load_error(ctx, result.returncode, result.stderr, model.name)
        return Check(name, "fail", detail, fix)
    data = result.data
    tokens = data["completion_tokens"]
    rate = tokens / data["generate_s"] if data["generate_s"] > 0 else 0.0
    placed = offloaded(result.stderr)
    where = (f"{placed[0]}/{placed[1]} layers on the GPU" if placed
             else "CPU only" if layers == 0 else "no offload line in llama.cpp's log")
    detail = (f"{model.name}: load {data['load_s']:.1f} s, {tokens} tokens at {rate:.1f} tok/s; "
              f"n_gpu_layers {layers}: {where}; n_threads {threads}; output {data['text']!r}")
    if tokens == 0:
        return Check(name, "warn", detail, "re-download the model: it produced no tokens")
    if layers != 0 and placed is not None:
        wanted = placed[1] if layers < 0 else min(layers, placed[1])
        if placed[0] < wanted:
            fix = ("set engine.options.n_gpu_layers = 0 (this build cannot offload)"
                   if placed[0] == 0 and not ctx.facts.get("llama_gpu_offload")
                   else "free GPU memory (close other GPU programs) or lower n_ctx; see the "
                   "vram budget row")
            if placed[0] == 0 and not ctx.facts.get("llama_gpu_offload"):
                ccs, driver = gpu_facts(ctx)
                if ccs:
                    fix = cuda_advice(ccs, driver, ctx.facts.get("llama_version"))[1]
            return Check(name, "warn", detail + f"; asked for {wanted}, got {placed[0]}", fix)
    return Check(name, "ok", detail)
