"""The GPU sampler: NVML readings over the whole generate stage, appended to telemetry.jsonl.

    generate ──start──► Sampler thread ──every interval_s──► read every GPU ──► line
                        (sleeps on an Event: no busy loop, stop() wakes it at once)

    read: pynvml (nvidia-ml-py) ─► source "nvml"
          not importable / NVML init fails, `nvidia-smi` on PATH answers ─► source "nvidia-smi":
          one `--query-gpu` and one `--query-compute-apps` subprocess per interval (each
          with a timeout), parsed by evalcli.environment.nvidia_smi ("[N/A]" → null)
          neither ─► one notice, nothing sampled, the run goes on

One line per GPU per sample, JSON, appended and flushed (a killed supervisor loses at most
the line being written; `resume` appends to the same file, so a run's telemetry covers every
generate session, each line stamped with wall-clock epoch seconds `t`):

    {"t": 1717.25, "gpu": 0, "source": "nvml", "name": "...", "util_gpu": 87, "util_mem": 40,
     "mem_used_mb": 5120.0, "mem_total_mb": 24576.0, "power_w": 210.5,
     "energy_mj": 123456789, "temp_c": 71, "sm_clock_mhz": 1800, "mem_clock_mhz": 9501,
     "throttle": ["sw_power_cap"], "driver_model": null,
     "procs": {"<worker index>": {"pid": 1234, "mem_mb": 800.0}}}

A reading NVML cannot give on this GPU (no energy counter before Volta, no power on some
boards) is null; from nvidia-smi the energy counter and throttle reasons are always null
(energy is then integrated from power, as for a GPU without the counter). `procs` holds the VRAM each live worker process holds: a worker missing
from it while others hold VRAM is running on the CPU. Under Windows' WDDM driver model
(`driver_model`: "WDDM"; "TCC"/"MCDM" on Windows, null elsewhere) NVML lists the processes
but not their memory: `mem_mb` is then null, and the per-arm peak VRAM is reported as
unavailable, never replaced by the device's memory in use (which counts the desktop and
every other worker). `pynvml` (nvidia-ml-py) is imported
inside the thread's set-up only; without it, without a driver or without a GPU the sampler
says so once (`notice`) and does nothing.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from evalcli.environment import nvidia_smi, smi_number
from evalcli.store.telemetry import GpuSample, ProcMemory, encode_samples

# NVML clocks-event / throttle reason bits → names (nvmlClocksThrottleReason*)
THROTTLE_BITS = {
    0x1: "gpu_idle", 0x2: "app_clocks", 0x4: "sw_power_cap", 0x8: "hw_slowdown",
    0x10: "sync_boost", 0x20: "sw_thermal", 0x40: "hw_thermal", 0x80: "hw_power_brake",
    0x100: "display_clocks",
}
_MB = 1024 * 1024
SMI_GPU_FIELDS = ("index,name,utilization.gpu,utilization.memory,memory.used,memory.total,"
                  "power.draw,temperature.gpu,clocks.sm,clocks.mem,uuid")
SMI_APP_FIELDS = "gpu_uuid,pid,used_memory"


DRIVER_MODELS = {0: "WDDM", 1: "TCC", 2: "MCDM"}  # NVML_DRIVER_WDDM, _WDM (TCC), _MCDM


def driver_model(value) -> str | None:
    """Windows only: NVML answers (current, pending); elsewhere it is not supported (None)."""
    current = value[0] if isinstance(value, (list, tuple)) and value else value
    return DRIVER_MODELS.get(current) if isinstance(current, int) else None


def throttle_names(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_BITS.items() if mask & bit]


def _try(read: Callable, default=None):
    try:
        return read()
    except Exception:  # noqa: BLE001 - NVML raises NVMLError_NotSupported and friends
        return default


class Sampler:
    """Samples every GPU each `interval_s` into `path` while started.

    `worker_pids()` returns {worker index: pid} of the live workers (read from another
    thread: a plain dict snapshot, no lock needed). `latest` holds the last reading per GPU
    for the dashboard.
    """

    def __init__(self, path: Path, *, interval_s: float = 1.0,
                 worker_pids: Callable[[], dict[int, int]] = dict) -> None:
        self.path = path
        self.interval_s = max(0.05, float(interval_s))
        self.worker_pids = worker_pids
        self.notice = ""  # why nothing is sampled, when that is so
        self.latest: list[GpuSample] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml = None
        self._handles: list = []
        self._smi: str | None = None  # the nvidia-smi executable, when sampling through it
        self.source = ""  # "nvml" | "nvidia-smi" once started

    @property
    def gpu_count(self) -> int:
        return len(self._handles)

    def start(self) -> bool:
        """Open NVML, else nvidia-smi; False (with `notice` set) when there is nothing to
        sample."""
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as exc:  # noqa: BLE001 - ImportError, NVMLError_LibraryNotFound, ...
            reason = "nvidia-ml-py is not installed" if isinstance(exc, ImportError) else \
                " ".join(str(exc).split()) or type(exc).__name__
            if not self._start_smi():
                self.notice = (f"GPU telemetry off: {reason} (no NVML) and no nvidia-smi "
                               "answers — run goes on without it")
                return False
        else:
            if not self._handles:
                self.notice = "GPU telemetry off: NVML sees no GPU — run goes on without it"
                _try(pynvml.nvmlShutdown)
                return False
            self._nvml, self.source = pynvml, "nvml"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="evalcli-telemetry", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None
        if self._nvml is not None:
            _try(self._nvml.nvmlShutdown)
            self._nvml = None

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        stopping = False
        with open(self.path, "ab") as fh:
            while True:  # one reading at start, one per interval, and a last one at stop, so
                lines = self.read_all()  # the sampled span covers every unit of the session
                if lines:
                    fh.write(encode_samples(lines))
                    fh.flush()
                    self.latest, self.samples = lines, self.samples + 1
                if stopping:
                    return
                stopping = self._stop.wait(self.interval_s)

    def _start_smi(self) -> bool:
        tool = shutil.which("nvidia-smi")
        rows = nvidia_smi(tool, "query-gpu", SMI_GPU_FIELDS, timeout=self._smi_timeout) \
            if tool else None
        if not rows:
            return False
        self._smi, self.source = tool, "nvidia-smi"
        self._handles = [row["uuid"] for row in rows]
        return True

    @property
    def _smi_timeout(self) -> float:
        return max(2.0, 2 * self.interval_s)

    def read_all(self) -> list[GpuSample]:
        """One reading per GPU, now."""
        t = round(time.time(), 3)
        pids = {pid: index for index, pid in dict(self.worker_pids()).items() if pid}
        if self._smi is not None:
            return self._read_smi(t, pids)
        return [self._read(i, handle, t, pids) for i, handle in enumerate(self._handles)]

    def _read_smi(self, t: float, pids: dict[int, int]) -> list[GpuSample]:
        gpus = nvidia_smi(self._smi, "query-gpu", SMI_GPU_FIELDS, timeout=self._smi_timeout)
        apps = nvidia_smi(self._smi, "query-compute-apps", SMI_APP_FIELDS,
                          timeout=self._smi_timeout) or []
        lines = []
        for row in gpus or []:  # no answer this interval: no line (a gap, never made-up data)
            procs = {}
            for app in apps:
                pid = smi_number(app["pid"])
                worker = pids.get(int(pid)) if pid is not None else None
                if worker is not None and app["gpu_uuid"] == row["uuid"]:
                    procs[str(worker)] = ProcMemory(pid=int(pid),
                                                    mem_mb=smi_number(app["used_memory"]))

            def num(field: str, kind=float, row=row):
                value = smi_number(row[field])
                return None if value is None else kind(value)

            lines.append(GpuSample(
                t=t, gpu=num("index", int) or 0, source="nvidia-smi", name=row["name"] or "",
                util_gpu=num("utilization.gpu", int), util_mem=num("utilization.memory", int),
                mem_used_mb=num("memory.used"), mem_total_mb=num("memory.total"),
                power_w=num("power.draw"), energy_mj=None, temp_c=num("temperature.gpu", int),
                sm_clock_mhz=num("clocks.sm", int), mem_clock_mhz=num("clocks.mem", int),
                throttle=None, driver_model=None, procs=procs,
            ))
        return lines

    def _read(self, index: int, h, t: float, pids: dict[int, int]) -> GpuSample:
        nv = self._nvml
        util = _try(lambda: nv.nvmlDeviceGetUtilizationRates(h))
        mem = _try(lambda: nv.nvmlDeviceGetMemoryInfo(h))
        power = _try(lambda: nv.nvmlDeviceGetPowerUsage(h))  # mW
        mask = _try(lambda: nv.nvmlDeviceGetCurrentClocksThrottleReasons(h))
        name = _try(lambda: nv.nvmlDeviceGetName(h), "")
        procs = {}
        for proc in _try(lambda: nv.nvmlDeviceGetComputeRunningProcesses(h), []) or []:
            worker = pids.get(getattr(proc, "pid", None))
            used = getattr(proc, "usedGpuMemory", None)
            if worker is not None:
                procs[str(worker)] = ProcMemory(
                    pid=proc.pid, mem_mb=None if used is None else round(used / _MB, 1))
        return GpuSample(
            t=t, gpu=index, source="nvml", name=name.decode() if isinstance(name, bytes) else name,
            util_gpu=None if util is None else util.gpu,
            util_mem=None if util is None else util.memory,
            mem_used_mb=None if mem is None else round(mem.used / _MB, 1),
            mem_total_mb=None if mem is None else round(mem.total / _MB, 1),
            power_w=None if power is None else power / 1000.0,
            energy_mj=_try(lambda: nv.nvmlDeviceGetTotalEnergyConsumption(h)),
            temp_c=_try(lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)),
            sm_clock_mhz=_try(lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM)),
            mem_clock_mhz=_try(lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM)),
            throttle=None if mask is None else throttle_names(int(mask)),
            driver_model=driver_model(_try(lambda: nv.nvmlDeviceGetDriverModel(h))),
            procs=procs,
        )

