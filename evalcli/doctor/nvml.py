"""The NVML probe (nvidia-ml-py, module `pynvml`), run once in a child process and shared by
the checks through `Context.gpu()`.

    find_spec("pynvml")? ─no─► nvidia-smi on PATH? ─► the same facts from
                                  `nvidia-smi --query-gpu=... --format=csv` (source "nvidia-smi")
    run_probe("nvml")    ─► driver, CUDA driver version, per GPU name/memory/cc, or the
                            NVML exception class name and message
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from evalcli.doctor.probe import run_probe
from evalcli.environment import nvidia_smi, smi_number

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
    source: str = "nvml"  # or "nvidia-smi" when nvidia-ml-py is not installed


SMI_FIELDS = "index,name,driver_version,memory.total,memory.free,memory.used,compute_cap"


def probe_smi(tool: str) -> GpuProbe | None:
    """The NVML facts from nvidia-smi (MiB, CSV); None when it does not answer."""
    rows = nvidia_smi(tool, "query-gpu", SMI_FIELDS, timeout=NVML_TIMEOUT_S)
    if rows is None:
        return None
    try:
        banner = subprocess.run([tool], capture_output=True, text=True, timeout=NVML_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    gpus, driver = [], ""
    for row in rows:
        index, total = smi_number(row["index"]), smi_number(row["memory.total"])
        if index is None or total is None:
            continue
        driver = row["driver_version"] or driver
        major, _, minor = (row["compute_cap"] or "").partition(".")
        gpus.append({"index": int(index), "name": row["name"] or "", "total": int(total) << 20,
                     "free": int(smi_number(row["memory.free"]) or 0) << 20,
                     "used": int(smi_number(row["memory.used"]) or 0) << 20,
                     "compute_capability": [int(major), int(minor)]
                     if major.isdigit() and minor.isdigit() else None})
    cuda = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", banner.stdout)
    return GpuProbe(False, True, driver=driver, gpus=gpus, source="nvidia-smi",
                    cuda_driver=(int(cuda.group(1)), int(cuda.group(2))) if cuda else None)


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
        tool = shutil.which("nvidia-smi")
        smi = probe_smi(tool) if tool else None
        return smi if smi is not None else GpuProbe(installed=False, nvidia_hint=hint)
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
