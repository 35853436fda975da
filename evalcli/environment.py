"""What machine and software a run used, for run.json: Python, OS, package versions,
llama.cpp build, model file fingerprint, GPU (when NVML is available); and the one reader of
`nvidia-smi`'s CSV queries (the doctor's GPU probe and the run's telemetry sampler both use
it when nvidia-ml-py is missing).

Model files are hashed once: the sha256 is cached per (path, size, mtime) in the user
cache, so a multi-GB GGUF is not re-read on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from evalcli.inputs.demo_model import user_cache_dir
from evalcli.store.fsutil import atomic_write_text, sha256_file

_PACKAGES = ("evalcli", "llama_cpp_python", "msgspec", "numpy", "scipy", "httpx", "typer",
             "rich", "tiktoken", "nvidia-ml-py")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def model_fingerprint(path: Path) -> dict:
    path = Path(path).resolve()
    st = path.stat()
    key = hashlib.sha1(str(path).encode("utf-8")).hexdigest()
    cache = user_cache_dir() / "hashes" / f"{key}.json"
    expected = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if {k: cached.get(k) for k in expected} == expected and cached.get("sha256"):
            return {"path": str(path), "size": st.st_size, "sha256": cached["sha256"]}
    except (OSError, ValueError):
        pass
    sha = sha256_file(path)
    try:
        atomic_write_text(cache, json.dumps({**expected, "sha256": sha}))
    except OSError:
        pass  # an unwritable cache only costs a re-hash next time
    return {"path": str(path), "size": st.st_size, "sha256": sha}


def gpu_info() -> list[dict]:
    """NVIDIA GPUs via NVML (nvidia-ml-py), or [] when unavailable. Never raises."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver / no NVML: no GPU to report
        return []
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append({"index": index, "name": str(pynvml.nvmlDeviceGetName(handle)),
                         "memory_total_mb": memory.total // (1 << 20),
                         "memory_used_mb": memory.used // (1 << 20)})
        gpus and gpus[0].update(driver=str(pynvml.nvmlSystemGetDriverVersion()))
        return gpus
    except Exception:  # noqa: BLE001
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


# what nvidia-smi prints for a reading this GPU or driver cannot give
SMI_MISSING = frozenset({"", "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]"})


def nvidia_smi(tool: str, query: str, fields: str, *,
               timeout: float) -> list[dict[str, str | None]] | None:
    """`nvidia-smi --<query>=<fields> --format=csv,noheader,nounits`: one dict per row, field
    name → text (None where nvidia-smi says N/A); None when it does not answer (cannot start,
    error exit, past `timeout` seconds). `query` is "query-gpu" or "query-compute-apps"."""
    try:
        done = subprocess.run([tool, f"--{query}={fields}", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    names = fields.split(",")
    rows = []
    for line in done.stdout.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) == len(names):
            rows.append({n: None if c in SMI_MISSING else c for n, c in zip(names, cells, strict=True)})
    return rows


def smi_number(text: str | None) -> float | None:
    """A numeric nvidia-smi cell, or None (N/A or not a number)."""
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def memory_bytes() -> tuple[int | None, int | None]:
    """(total, available) host RAM in bytes; None where the platform does not say."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    except ImportError:
        pass
    if sys.platform == "win32":
        import ctypes

        class _MemoryStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong),
                        ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong),
                        ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = _MemoryStatus()
        status.dwLength = ctypes.sizeof(status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.ullTotalPhys), int(status.ullAvailPhys)
        return None, None
    try:
        info = {}
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                info[key] = int(value.split()[0]) * 1024
        return info.get("MemTotal"), info.get("MemAvailable")
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), None
    except (AttributeError, ValueError, OSError):
        return None, None


def collect(model_path: str | None, engine_info: dict[str, str] | None = None) -> dict:
    env = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "packages": package_versions(),
        "gpus": gpu_info(),
    }
    if model_path:
        env["model"] = model_fingerprint(Path(model_path))
    if engine_info:
        env["engine"] = engine_info
    return env
