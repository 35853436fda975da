"""The NVML probe (nvidia-ml-py, module `pynvml`), run once in a child process and shared by
the checks through `Context.gpu()`.

    find_spec("pynvml")? ─no─► GpuProbe(installed=False)
    run_probe("nvml")    ─► driver, CUDA driver version, per GPU name/memory/cc, or the
                            NVML exception class name and message
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, field

from evalcli.doctor.probe import run_probe

NVML_TIMEOUT_S = 30.0


@dataclass
class GpuProbe:
    installed: bool  # nvidia-ml-py importable
    nvidia_hint: bool  # an NVIDIA driver seems to be present (nvidia-smi, /proc, nvml.dll)
    error: str = ""  # NVML exception class name, or "" on success
    message: str = ""
    driver: str = ""
    cuda_driver: tuple[int, int] | None = None
    gpus: list[dict] = field(default_factory=list)


def _nvidia_hint() -> bool:
    if shutil.which("nvidia-smi"):
        return True
    if sys.platform == "win32":
        windir = os.environ.get("WINDIR", r"C:\Windows")
        return os.path.exists(os.path.join(windir, "System32", "nvml.dll"))
    return os.path.exists("/proc/driver/nvidia/version")


def probe_nvml() -> GpuProbe:
    hint = _nvidia_hint()
    if importlib.util.find_spec("pynvml") is None:
        return GpuProbe(installed=False, nvidia_hint=hint)
    result = run_probe("nvml", timeout=NVML_TIMEOUT_S)
    if result.data is None:
        what = "timed out" if result.timed_out else f"exited with {result.returncode}"
        return GpuProbe(True, hint, error="ProbeFailed",
                        message=f"the NVML probe {what}: {result.stderr_tail(2)}")
    data = result.data
    if data.get("error"):
        return GpuProbe(True, hint, error=data["error"], message=data.get("message", ""))
    return GpuProbe(True, hint, driver=data["driver"], cuda_driver=tuple(data["cuda_driver"]),
                    gpus=data["gpus"])
