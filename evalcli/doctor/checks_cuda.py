"""Does the installed llama-cpp-python CUDA build fit this GPU and driver, and can it find
its CUDA runtime?

    cuda wheel      build CUDA major (cuda.installed_build) vs the driver's CUDA version;
                    the build's ARCHS (llama_print_system_info) vs each GPU's compute
                    capability ─► the pinned wheel that fits, or the source build
    cuda libraries  in a child: cudart / cublas / cublasLt of the build's major
                    (Windows: wheel lib folder + %CUDA_PATH%\\bin; Linux: the loader, and
                    where `ldconfig -p` lists them)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context
from evalcli.doctor.cuda import covers, cuda_advice, installed_build, runtime_names
from evalcli.doctor.probe import run_probe

LIBS_TIMEOUT_S = 30.0


def gpu_ccs(ctx: Context) -> list[tuple[int, int]]:
    return [tuple(g["compute_capability"]) for g in ctx.gpu().gpus
            if g.get("compute_capability")]


def build_archs(ctx: Context) -> list[int]:
    """CUDA architectures from the import probe's system info ("CUDA : ARCHS = 610,890")."""
    match = re.search(r"ARCHS\s*=\s*([\d,\s]+)", ctx.facts.get("llama_system_info", ""))
    return [int(a) for a in re.findall(r"\d+", match.group(1))] if match else []


def check_cuda_wheel(ctx: Context) -> Check:
    name = "cuda wheel"
    build = installed_build()
    if build.version is None or not build.cuda:
        return Check(name, "skip", "no CUDA build of llama-cpp-python installed"
                     if build.version else "llama-cpp-python is not installed")
    gpu = ctx.gpu()
    if not gpu.gpus:
        return Check(name, "skip", f"{build.version} is a CUDA build, but no NVIDIA GPU is "
                     "visible (see the nvidia gpu check)")
    ccs, driver = gpu_ccs(ctx), gpu.cuda_driver
    major = build.cuda_major
    detail = (f"{build.version}: CUDA {major if major else '?'} build ({build.source or 'major not found'}); "
              f"driver CUDA {f'{driver[0]}.{driver[1]}' if driver else '?'}")
    problems = []
    if major and driver and driver[0] < major:
        problems.append(f"the driver's CUDA {driver[0]}.{driver[1]} cannot run a CUDA {major} "
                        "build (CUDA error 35: driver version is insufficient)")
    archs = build_archs(ctx)
    if archs:
        detail += f"; built for {','.join(map(str, archs))}"
        for g in ctx.gpu().gpus:
            if not g.get("compute_capability"):
                continue
            cc = tuple(g["compute_capability"])
            fit = covers(archs, cc)
            if fit == "none":
                problems.append(f"GPU{g['index']} {g['name']} (compute capability "
                                f"{cc[0]}.{cc[1]}) has no kernels in this build (\"no kernel "
                                "image is available\")")
            elif fit == "ptx":
                detail += f"; GPU{g['index']} only through PTX JIT (slow first start)"
    if not problems:
        return Check(name, "ok", detail)
    why, command = cuda_advice(ccs, driver, build.version)
    return Check(name, "fail" if ctx.gpu_layers() != 0 else "warn",
                 f"{detail}; {'; '.join(problems)}; {why}", command)


def _ldconfig() -> dict[str, str]:
    tool = shutil.which("ldconfig") or ("/sbin/ldconfig" if os.path.exists("/sbin/ldconfig")
                                        else None)
    if tool is None:
        return {}
    try:
        out = subprocess.run([tool, "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for line in out.splitlines():
        name, _, path = line.strip().partition(" => ")
        found.setdefault(name.split(" ")[0], path)
    return found


def _toolkits(major: int) -> list[Path]:
    root = Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / \
        "NVIDIA GPU Computing Toolkit" / "CUDA"
    return sorted(root.glob(f"v{major}.*")) if root.is_dir() else []


def missing_libs_fix(major: int, missing: list[str]) -> str:
    if shell.windows():
        kits = _toolkits(major)
        if kits:  # installed, but CUDA_PATH points elsewhere (or is unset)
            return (f"{shell.set_env('CUDA_PATH', str(kits[-1]))}  (for good: "
                    f"[Environment]::SetEnvironmentVariable('CUDA_PATH', '{kits[-1]}', 'User'))")
        return (f"install CUDA Toolkit {major}.x from https://developer.nvidia.com/"
                f"cuda-toolkit-archive (it sets CUDA_PATH; it provides {', '.join(missing)}), "
                "then open a new terminal")
    return (f"install CUDA Toolkit {major}.x (or your distribution's CUDA {major} runtime and "
            "cuBLAS packages) from https://developer.nvidia.com/cuda-toolkit-archive, then "
            "run: sudo ldconfig")


def probe_cuda_libs(ctx: Context):
    """(major, {name: result}) once per doctor run; None when there is nothing to probe."""
    if "cuda_libs" in ctx.facts:
        return ctx.facts["cuda_libs"]
    build = installed_build()
    answer = None
    if build.cuda and build.cuda_major and build.lib_dir is not None:
        names = runtime_names(build.cuda_major, shell.windows())
        result = run_probe("cudalibs", str(build.lib_dir), *names, timeout=LIBS_TIMEOUT_S)
        answer = (build.cuda_major, (result.data or {}).get("libs", {}), result)
    ctx.facts["cuda_libs"] = answer
    return answer


def check_cuda_libs(ctx: Context) -> Check:
    name = "cuda libraries"
    answer = probe_cuda_libs(ctx)
    if answer is None:
        return Check(name, "skip", "no CUDA build of llama-cpp-python (or its CUDA major is "
                     "unknown)")
    major, libs, result = answer
    if not libs:
        return Check(name, "fail", f"the library probe failed: {result.stderr_tail(2)}",
                     missing_libs_fix(major, runtime_names(major, shell.windows())))
    listed = {} if shell.windows() else _ldconfig()
    where = os.environ.get("CUDA_PATH", "")
    parts, missing = [], []
    for lib, info in libs.items():
        if info.get("ok"):
            parts.append(f"{lib} {info.get('path') or listed.get(lib, 'found')}")
        else:
            missing.append(lib)
    detail = ("; ".join(parts) + "; " if parts else "") + (
        f"CUDA_PATH={where or '(unset)'}" if shell.windows() else
        f"ldconfig lists {sum(lib in listed for lib in libs)} of {len(libs)}")
    if missing:
        return Check(name, "fail", f"missing: {', '.join(missing)}; {detail}",
                     missing_libs_fix(major, missing))
    return Check(name, "ok", detail)
