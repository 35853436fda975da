"""Windows-only checks: the Visual C++ runtime DLLs llama.cpp links against (probed with
ctypes in a child), where NVML's nvml.dll is, and the LongPathsEnabled registry value.
Everywhere else they are "skip"; winreg and ctypes.WinDLL are only touched on Windows."""

from __future__ import annotations

import os
import sys

from evalcli.doctor.check import Check, Context
from evalcli.doctor.checks_gpu import DRIVER_URL
from evalcli.doctor.probe import run_probe
from evalcli.doctor.shell import VC_REDIST

VC_RUNTIME = ("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll", "vcomp140.dll")
DLL_TIMEOUT_S = 30.0


def _not_windows(name: str) -> Check | None:
    if sys.platform != "win32":
        return Check(name, "skip", "not Windows")
    return None


def check_vc_runtime(ctx: Context) -> Check:
    name = "windows: vc++ runtime"
    if (skip := _not_windows(name)) is not None:
        return skip
    result = run_probe("windlls", *VC_RUNTIME, timeout=DLL_TIMEOUT_S)
    if result.data is None:
        return Check(name, "fail", f"the DLL probe failed: {result.stderr_tail(2)}", VC_REDIST)
    missing = [dll for dll, err in result.data["dlls"].items() if err]
    if missing:
        return Check(name, "fail", f"cannot load {', '.join(missing)}", VC_REDIST)
    return Check(name, "ok", f"{', '.join(VC_RUNTIME)} load")


def check_nvml_dll(ctx: Context) -> Check:
    """Where NVIDIA's driver puts nvml.dll. No driver at all is a fact, not a problem: CPU
    runs and remote servers need no NVML (GPU telemetry and the GPU rows are then off)."""
    name = "windows: nvml.dll"
    if (skip := _not_windows(name)) is not None:
        return skip
    windir = os.environ.get("WINDIR", r"C:\Windows")
    program_files = os.environ.get("ProgramFiles", r"C:\Program Files")
    places = [os.path.join(windir, "System32", "nvml.dll"),
              os.path.join(program_files, "NVIDIA Corporation", "NVSMI", "nvml.dll")]
    found = [p for p in places if os.path.isfile(p)]
    if found:
        return Check(name, "ok", f"found: {'; '.join(found)}")
    gpu = ctx.gpu()
    if gpu.gpus and gpu.source == "nvml":
        return Check(name, "ok", "nvidia-ml-py loads NVML from the driver's own folder "
                     f"(not {places[0]})")
    if ctx.gpu_layers() != 0 or gpu.nvidia_hint:
        return Check(name, "warn", f"nvml.dll is in neither {places[0]} nor {places[1]}",
                     f"reinstall the NVIDIA driver from {DRIVER_URL} (it puts nvml.dll in "
                     "System32)")
    return Check(name, "ok", "no NVIDIA driver on this machine (no nvml.dll): nothing to "
                 "load; CPU runs and remote servers do not need it (GPU telemetry stays off)")


def check_long_paths(ctx: Context) -> Check:
    name = "windows: long paths"
    if (skip := _not_windows(name)) is not None:
        return skip
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                            r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            value, _ = winreg.QueryValueEx(key, "LongPathsEnabled")
    except OSError:
        value = 0
    if value == 1:
        return Check(name, "ok", "LongPathsEnabled = 1")
    return Check(name, "warn", "LongPathsEnabled is off: paths over 260 characters fail "
                 "(deep run directories, pip installs of CUDA wheels)",
                 "as administrator: New-ItemProperty -Path "
                 "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem -Name LongPathsEnabled "
                 "-Value 1 -PropertyType DWORD -Force")
