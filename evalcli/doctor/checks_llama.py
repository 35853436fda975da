"""llama-cpp-python checks: the installed wheel (read without importing it), an import probe
in a child process whose crash is classified into advice, an optional smoke load of a GGUF,
and the embedded demo model.

    metadata.version("llama_cpp_python")   installed?            (no import)
    run_probe("llama")                     import + system info  (child, timeout)
        exit -4 / 0xC000001D ─► illegal instruction: CPU-specific build
        "Failed to load shared library" / 0xC0000135 ─► missing DLL (VC++ runtime, CUDA)
        gpu_offload False while NVML sees a GPU ─► CPU-only wheel
    run_probe("smoke", model, ...)         load n_ctx 512, 8 greedy tokens, tok/s
"""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib import metadata
from pathlib import Path

from evalcli.doctor.check import Check, Context, human_bytes
from evalcli.doctor.probe import run_probe

IMPORT_TIMEOUT_S = 60.0
SMOKE_TIMEOUT_S = 30.0

PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
REBUILD = (f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" pip install --no-cache-dir --force-reinstall '
           "llama-cpp-python")
REBUILD_PS = (f'$env:CMAKE_ARGS = "{PORTABLE_CMAKE_ARGS}"; pip install --no-cache-dir '
              "--force-reinstall llama-cpp-python")

_ILLEGAL = 0xC000001D
_DLL_NOT_FOUND = 0xC0000135
_ACCESS_VIOLATION = 0xC0000005


def classify_child_failure(returncode: int | None, stderr: str, *,
                           windows: bool | None = None) -> tuple[str, str]:
    """(detail, fix) for a child that failed to import or run llama_cpp."""
    windows = sys.platform == "win32" if windows is None else windows
    status = None if returncode is None else returncode & 0xFFFFFFFF
    text = stderr or ""
    lower = text.lower()
    tail = " | ".join([ln.strip() for ln in text.strip().splitlines() if ln.strip()][-2:])
    if returncode is None:
        return ("the child did not finish in time (hung while loading native libraries?)",
                "run `python -c \"import llama_cpp\"` to watch it; reinstall llama-cpp-python")
    if (returncode == -4 or status == _ILLEGAL or "0xc000001d" in lower
            or "-1073741795" in lower or "illegal instruction" in lower):
        return ("illegal instruction: this llama.cpp build does not match this CPU "
                f"(exit {_describe(returncode)})",
                f"rebuild with {REBUILD_PS if windows else REBUILD} — a build tuned to another "
                "CPU (GGML_NATIVE; e.g. one that advertises AMX) crashes here with SIGILL; see "
                "docs/troubleshooting.md#illegal-instruction")
    if ("failed to load shared library" in lower or "could not find module" in lower
            or status == _DLL_NOT_FOUND or "cannot open shared object file" in lower):
        if windows:
            fix = ("a DLL llama.cpp needs is missing: install the Microsoft Visual C++ "
                   "Redistributable (x64); for a CUDA wheel install the CUDA toolkit of the "
                   "wheel's major version or a wheel that matches yours; see "
                   "docs/troubleshooting.md#dll-load-failed-on-windows")
        else:
            fix = ("a shared library llama.cpp needs is missing (CUDA runtime/cuBLAS for a "
                   "CUDA build, libgomp, libstdc++): install it, or reinstall a matching "
                   "llama-cpp-python wheel")
        return f"could not load llama.cpp's shared library ({tail or _describe(returncode)})", fix
    if returncode in (-11, -6) or status == _ACCESS_VIOLATION:
        return (f"native crash on import (exit {_describe(returncode)}): {tail}",
                "reinstall llama-cpp-python with --no-cache-dir --force-reinstall; if it "
                "persists, try the CPU wheel to rule out the GPU runtime")
    if "no module named 'llama_cpp'" in lower:
        return ("llama_cpp is not importable by this interpreter",
                'pip install -e ".[llama]" in this virtual environment')
    return (f"import failed (exit {_describe(returncode)}): {tail}",
            "run `python -c \"import llama_cpp\"` to see the whole error")


def _describe(returncode: int) -> str:
    if returncode < 0:
        import signal

        try:
            return f"{returncode}, {signal.Signals(-returncode).name}"
        except ValueError:
            return str(returncode)
    status = returncode & 0xFFFFFFFF
    return f"0x{status:08X}" if status >= 0xC0000000 else str(returncode)


def _needs_llama(ctx: Context) -> bool:
    return ctx.engine_name == "llama_cpp" or ctx.model_arg is not None


def _lib_files() -> list[str]:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.origin:
        return []
    lib = Path(spec.origin).parent / "lib"
    if not lib.is_dir():
        return []
    return sorted(p.name for p in lib.iterdir()
                  if p.suffix in (".dll", ".so", ".dylib") or ".so." in p.name)


def check_llama(ctx: Context) -> Check:
    name = "llama-cpp-python"
    try:
        version = metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        ctx.facts["llama_usable"] = False
        status = "fail" if _needs_llama(ctx) else "warn"
        return Check(name, status, "not installed (only the llama_cpp engine needs it)",
                     'pip install -e ".[llama]" (NVIDIA GPU: see docs/windows.md for the CUDA '
                     "wheel)")
    libs = _lib_files()
    cuda_libs = [lib for lib in libs if "cuda" in lib.lower()]
    result = run_probe("llama", timeout=IMPORT_TIMEOUT_S)
    if result.returncode != 0 or result.data is None:
        ctx.facts["llama_usable"] = False
        detail, fix = classify_child_failure(result.returncode, result.stderr)
        return Check(name, "fail", f"{version}: {detail}", fix)
    ctx.facts["llama_usable"] = True
    data = result.data
    offload = data["gpu_offload"]
    ctx.facts["llama_gpu_offload"] = offload
    info = summarize_system_info(data["system_info"])
    detail = (f"{version} (import {result.seconds:.1f} s); GPU offload "
              f"{'yes' if offload else 'no'}{f' ({len(cuda_libs)} CUDA libs)' if cuda_libs else ''}"
              f"; {info}")
    if not offload:
        gpu = ctx.gpu()
        if gpu.gpus:
            return Check(name, "warn", detail + f"; but NVML sees {gpu.gpus[0]['name']}",
                         f"this is a CPU-only wheel: {cuda_wheel_command(gpu.cuda_driver)}")
        if ctx.gpu_layers() != 0:
            return Check(name, "warn", detail + f"; the profile asks for n_gpu_layers = "
                         f"{ctx.gpu_layers()}, which a CPU-only build ignores",
                         "install a GPU build (docs/windows.md), or set "
                         "engine.options.n_gpu_layers = 0")
    return Check(name, "ok", detail)


def summarize_system_info(info: str) -> str:
    """"CPU : SSE3 = 1 | AVX = 0 | CUDA : ARCHS = 890 | …" → "CPU: SSE3; CUDA: ARCHS=890"."""
    groups: dict[str, list[str]] = {}
    backend = "?"
    for piece in info.split("|"):
        piece = piece.strip()
        if " : " in piece:
            backend, piece = (part.strip() for part in piece.split(" : ", 1))
        feature, _, value = (part.strip() for part in piece.partition("="))
        if not feature or value == "0":
            continue
        groups.setdefault(backend, []).append(feature if value == "1" else f"{feature}={value}")
    return "; ".join(f"{b}: {' '.join(f)}" for b, f in groups.items()) or info.strip()


def cuda_wheel_command(cuda_driver: tuple[int, int] | None) -> str:
    """The pip line for the prebuilt CUDA wheel that this driver can run."""
    tag = "cu124"
    if cuda_driver is not None:
        major, minor = cuda_driver
        if (major, minor) >= (13, 2):
            tag = "cu132"
        elif major >= 13:
            tag = "cu130"
        elif (major, minor) >= (12, 5):
            tag = "cu125"
        elif major == 11:
            tag = "cu118"
    return ("pip install --force-reinstall --no-cache-dir --only-binary=llama-cpp-python "
            "llama-cpp-python==<version> --extra-index-url "
            f"https://abetlen.github.io/llama-cpp-python/whl/{tag}")


# -- demo model -------------------------------------------------------------------------------
def check_demo_model(ctx: Context) -> Check:
    from evalcli.inputs.demo_model import (
        DEMO_PACKAGE,
        _stamp_matches,
        demo_model_target,
        sha256_file,
    )

    name = "demo model"
    uses_demo = ctx.engine_name == "llama_cpp" and not ctx.options.model
    target = demo_model_target()
    if target is None:
        return Check(name, "fail" if uses_demo else "warn",
                     f"package {DEMO_PACKAGE.replace('_', '-')} is not installed",
                     'pip install -e ".[llama]" (or give llama_cpp a model: --model PATH)')
    package = sys.modules[DEMO_PACKAGE]
    if not target.is_file():
        return Check(name, "warn", f"not assembled yet: {target} (about 250 MB, written on the "
                     "first llama_cpp run)",
                     "evalcli run --profile local-llamacpp assembles and verifies it")
    stamp = target.with_name(target.name + ".verified")
    size = human_bytes(target.stat().st_size)
    if _stamp_matches(stamp, target, package.EXPECTED_SHA256):
        return Check(name, "ok", f"{target} ({size}), verified (sha256 stamp matches)")
    if sha256_file(target) == package.EXPECTED_SHA256:
        return Check(name, "ok", f"{target} ({size}), sha256 verified now (no current stamp)")
    return Check(name, "fail", f"{target} ({size}) does not match its sha256: corrupt or "
                 "partially written", f"delete {target}; the next llama_cpp run re-assembles it")


# -- smoke load -------------------------------------------------------------------------------
def check_smoke(ctx: Context) -> Check:
    name = "llama.cpp smoke load"
    model = ctx.llama_model()
    if model is None and ctx.engine_name == "llama_cpp":
        return Check(name, "skip", "the demo model package is not installed",
                     'pip install -e ".[llama]", or pass --model PATH.gguf')
    if model is None:
        return Check(name, "skip", "no model to load",
                     "pass --model PATH.gguf, or --profile local-llamacpp for the demo model")
    if not ctx.facts.get("llama_usable"):
        return Check(name, "skip", "llama-cpp-python is not usable (see the llama-cpp-python "
                     "check)")
    explicit = ctx.model_arg is not None
    if not model.is_file():
        return Check(name, "fail" if explicit else "skip", f"model file not found: {model}",
                     "pass --model PATH to an existing .gguf"
                     if explicit else "run evalcli once to assemble the demo model")
    with open(model, "rb") as fh:
        if fh.read(4) != b"GGUF":
            return Check(name, "fail", f"{model} is not a GGUF file (bad magic)",
                         "pass a .gguf model")
    if ctx.engine_name == "llama_cpp":
        layers, threads = ctx.options.n_gpu_layers, ctx.options.n_threads
    else:
        layers = -1 if ctx.facts.get("llama_gpu_offload") else 0
        threads = max(1, os.cpu_count() or 1)
    result = run_probe("smoke", str(model), str(layers), str(threads), timeout=SMOKE_TIMEOUT_S)
    if result.returncode is None:
        return Check(name, "warn", f"loading {model.name} and 8 tokens did not finish within "
                     f"{SMOKE_TIMEOUT_S:.0f} s (a large model on a slow disk, or swapping?)",
                     "check free RAM/VRAM; try a smaller model or fewer n_gpu_layers")
    if result.returncode != 0 or result.data is None:
        detail, fix = classify_child_failure(result.returncode, result.stderr)
        if "import failed" in detail:
            detail = f"loading {model.name} failed (exit {_describe(result.returncode)}): " \
                     f"{result.stderr_tail(2)}"
            fix = "check that the file is a complete GGUF that this llama.cpp version supports"
        return Check(name, "fail", detail, fix)
    data = result.data
    tokens = data["completion_tokens"]
    rate = tokens / data["generate_s"] if data["generate_s"] > 0 else 0.0
    detail = (f"{model.name}: load {data['load_s']:.1f} s, {tokens} tokens in "
              f"{data['generate_s']:.2f} s ({rate:.1f} tok/s), n_gpu_layers {layers}, "
              f"n_threads {threads}; output {data['text']!r}")
    if tokens == 0:
        return Check(name, "warn", detail, "the model produced no tokens: check the GGUF")
    return Check(name, "ok", detail)
