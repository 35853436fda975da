"""Does the installed llama-cpp-python CUDA build fit this GPU and driver, and can it find
its CUDA runtime?

    cuda wheel      build CUDA major (cuda.installed_build) vs the driver's CUDA version;
                    the build's ARCHS (llama_print_system_info) vs each GPU's compute
                    capability ─► the pinned wheel that fits, or the source build
    cuda libraries  in a child, the way llama_cpp loads (probe._probe_loader): on Windows
                    the same add_dll_directory calls (a stale CUDA_PATH raises there) and the
                    legacy search order (PATH); cudart / cublas / cublasLt of the build's
                    major, then ggml-cuda itself. Missing ─► found in a folder not on PATH
                    (CUDA 13's bin\\x64, a toolkit, NVIDIA's pip wheels) ─► add it to PATH;
                    found nowhere ─► install the runtime (pip wheels for 11/12, toolkit 13)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context
from evalcli.doctor.cuda import (
    build_command,
    covers,
    cuda_advice,
    installed_build,
    needs_cuda_12_8,
    pinned_version,
    runtime_names,
)
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
    jit: list[tuple[int, int]] = []
    if archs:
        detail += f"; built for {','.join(map(str, archs))}"
        for g in ctx.gpu().gpus:
            if not g.get("compute_capability"):
                continue
            cc = tuple(g["compute_capability"])
            fit = covers(archs, cc, major)
            if fit == "none":
                problems.append(f"GPU{g['index']} {g['name']} (compute capability "
                                f"{cc[0]}.{cc[1]}) has no kernels in this build (\"no kernel "
                                "image is available\")")
            elif fit == "ptx":
                jit.append(cc)
                detail += (f"; GPU{g['index']} (cc {cc[0]}.{cc[1]}) only through PTX JIT: "
                           "each worker's first load compiles kernels for minutes (the driver "
                           "caches them), not an n_gpu_layers problem")
    ctx.facts["ptx_jit"] = bool(jit)
    if not problems and needs_cuda_12_8(jit):
        return Check(name, "warn", detail + "; native kernels for this GPU need a source build "
                     "with CUDA Toolkit 12.8 or newer and CMAKE_CUDA_ARCHITECTURES="
                     + ";".join(sorted({f"{a}{b}" for a, b in jit})),
                     build_command(jit, pinned_version(build.version)))
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


def _wheel_dirs() -> list[Path]:
    """Where NVIDIA's runtime wheels (nvidia-cuda-runtime-cuXX, nvidia-cublas-cuXX) put
    their DLLs in this environment."""
    build = installed_build()  # the environment llama_cpp is installed in
    purelib = (build.lib_dir.parent.parent if build.lib_dir is not None
               else Path(sysconfig.get_paths()["purelib"]))
    return [purelib / "nvidia" / "cuda_runtime" / "bin", purelib / "nvidia" / "cublas" / "bin"]


def _candidate_dirs(major: int) -> list[Path]:
    """Folders that may hold the CUDA runtime without being on the loader's path."""
    cuda_path = os.environ.get("CUDA_PATH", "")
    roots = ([Path(cuda_path)] if cuda_path else []) + _toolkits(major)[::-1]
    dirs = [root / sub for root in roots for sub in (Path("bin") / "x64", Path("bin"))]
    return dirs + (_wheel_dirs() if major in (11, 12) else [])


def _on_path(folder: Path) -> bool:
    entries = [e.strip().rstrip("\\/") for e in os.environ.get("PATH", "").split(os.pathsep)]
    return str(folder).rstrip("\\/").lower() in (e.lower() for e in entries if e)


def add_to_path(folders: list[Path]) -> str:
    """PowerShell: this terminal now, and the user's Path for new terminals."""
    joined = ";".join(str(f) for f in folders)
    return (f'$d = "{joined}"; $env:PATH = "$d;" + $env:PATH; '
            '[Environment]::SetEnvironmentVariable("Path", "$d;" + '
            '[Environment]::GetEnvironmentVariable("Path", "User"), "User")')


def install_runtime_fix(major: int, missing: list[str]) -> str:
    if shell.windows():
        if major in (11, 12):
            wheels = f"nvidia-cuda-runtime-cu{major} nvidia-cublas-cu{major}"
            return f"python -m pip install {wheels}; " + add_to_path(_wheel_dirs())
        return (f"install CUDA Toolkit {major}.x from https://developer.nvidia.com/"
                f"cuda-downloads (it provides {', '.join(missing)}), then open a new terminal "
                "and run evalcli doctor again")
    return (f"install CUDA Toolkit {major}.x (or your distribution's CUDA {major} runtime and "
            "cuBLAS packages) from https://developer.nvidia.com/cuda-toolkit-archive, then "
            "run: sudo ldconfig")


def off_path_holders(major: int, missing: list[str]) -> list[Path]:
    """Folders that hold some of the missing libraries but are not on PATH."""
    return [f for f in dict.fromkeys(_candidate_dirs(major))
            if any((f / lib).is_file() for lib in missing) and not _on_path(f)]


def missing_libs_fix(major: int, missing: list[str]) -> str:
    """The runtime found in a folder the loader does not search: put it on PATH; found
    nowhere: install it."""
    holders = off_path_holders(major, missing) if shell.windows() else []
    return add_to_path(holders) if holders else install_runtime_fix(major, missing)


@dataclass
class Loader:
    """What the llama_cpp-style load found: ok, or what fails and the fix."""
    ok: bool
    detail: str
    fix: str = ""
    cpu: bool = False  # a CPU build (only CUDA_PATH was checked)


def stale_cuda_path_fix(major: int | None) -> str:
    kits = _toolkits(major) if major else []
    if kits:
        return (f"{shell.set_env('CUDA_PATH', str(kits[-1]))}; [Environment]::"
                f"SetEnvironmentVariable('CUDA_PATH', '{kits[-1]}', 'User')")
    return ("Remove-Item Env:CUDA_PATH; [Environment]::SetEnvironmentVariable('CUDA_PATH', "
            "$null, 'User')  # set system-wide? remove it in \"Edit the system environment "
            "variables\" (as administrator)")


def diagnose_loader(ctx: Context) -> Loader | None:
    """Run once per doctor run: None when there is nothing to load (no llama-cpp-python, or a
    CPU build off Windows, where no CUDA_PATH is read)."""
    if "loader" in ctx.facts:
        return ctx.facts["loader"]
    ctx.facts["loader"] = answer = _diagnose(installed_build())
    return answer


def _diagnose(build) -> Loader | None:
    windows = shell.windows()
    major = build.cuda_major if build.cuda else None
    if build.version is None or build.lib_dir is None or not (windows or major):
        return None
    names = runtime_names(major, windows) if major else []
    result = run_probe("loader", "1" if windows else "0", str(build.lib_dir), *names,
                       timeout=LIBS_TIMEOUT_S)
    data = result.data
    if data is None:
        return Loader(False, f"the library probe failed: {result.stderr_tail(2)}",
                      missing_libs_fix(major, names) if major else
                      shell.python_c("import llama_cpp") + "   (shows the whole error)")
    cuda_path = os.environ.get("CUDA_PATH", "")
    if data["stale"]:
        return Loader(False, f"CUDA_PATH = {cuda_path}, but {data['stale']} does not exist (a "
                      "CUDA toolkit that was uninstalled or moved?): import llama_cpp fails "
                      f"there ({data['error']})", stale_cuda_path_fix(major))
    libs = data["libs"]
    missing = [lib for lib, info in libs.items() if not info.get("ok")]
    listed = {} if windows else _ldconfig()
    found = "; ".join(f"{lib} {info.get('path') or listed.get(lib, 'loads')}"
                      for lib, info in libs.items() if info.get("ok"))
    where = (f"CUDA_PATH={cuda_path or '(unset)'}" if windows
             else f"ldconfig lists {sum(lib in listed for lib in libs)} of {len(libs)}")
    if missing and major:
        elsewhere = off_path_holders(major, missing) if windows else []
        if elsewhere:
            why = (f"they are in {elsewhere[0]}, which is not on PATH (llama_cpp loads with "
                   "the legacy search order: PATH, not CUDA_PATH; CUDA 13 keeps its DLLs in "
                   "bin\\x64)")
        elif windows:
            why = f"no CUDA {major} runtime found (CUDA_PATH, toolkits, NVIDIA's pip wheels)"
        else:
            why = "the dynamic loader does not find them"
        return Loader(False, f"{', '.join(missing)} cannot be loaded the way llama_cpp loads "
                      f"them: {why}; {where}", missing_libs_fix(major, missing))
    cuda_lib = data.get("cuda_lib")
    if cuda_lib and not cuda_lib.get("ok"):
        return Loader(False, f"{cuda_lib['name']} does not load although the CUDA runtime "
                      f"does ({cuda_lib.get('error', '')}); {where}",
                      shell.VC_REDIST if windows else "see the llama-cpp-python row")
    if not major:
        return Loader(True, f"a CPU build: no CUDA libraries to load; {where}", cpu=True)
    return Loader(True, (found + "; " if found else "") + where)


def check_cuda_libs(ctx: Context) -> Check:
    name = "cuda libraries"
    loader = diagnose_loader(ctx)
    if loader is None or (loader.ok and loader.cpu):
        return Check(name, "skip", "no CUDA build of llama-cpp-python (or its CUDA major is "
                     "unknown)")
    if loader.ok:
        return Check(name, "ok", loader.detail)
    return Check(name, "fail", loader.detail, loader.fix)
