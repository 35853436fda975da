"""One NVML reading on a Windows WDDM GPU: NVML lists the worker's process but
usedGpuMemory is None. The line keeps that null (and says WDDM); nothing fills it with the
device's memory in use."""

from __future__ import annotations

from types import SimpleNamespace

from evalcli.run.telemetry import Sampler, driver_model
from evalcli.store.telemetry import ProcMemory


class NotSupported(Exception):
    pass


def _nvml(model):
    def unsupported(*_):
        raise NotSupported

    return SimpleNamespace(
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=90, memory=40),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(used=7000 << 20, total=12288 << 20),
        nvmlDeviceGetPowerUsage=lambda h: 150_000,
        nvmlDeviceGetCurrentClocksThrottleReasons=lambda h: 0,
        nvmlDeviceGetName=lambda h: "NVIDIA GeForce RTX 4070",
        nvmlDeviceGetComputeRunningProcesses=lambda h: [
            SimpleNamespace(pid=4242, usedGpuMemory=None),   # WDDM: listed, memory unknown
            SimpleNamespace(pid=77, usedGpuMemory=1 << 30)],  # not a worker
        nvmlDeviceGetTotalEnergyConsumption=unsupported, nvmlDeviceGetTemperature=unsupported,
        nvmlDeviceGetClockInfo=unsupported, NVML_TEMPERATURE_GPU=0, NVML_CLOCK_SM=1,
        NVML_CLOCK_MEM=2,
        nvmlDeviceGetDriverModel=(lambda h: [model, model]) if model is not None else unsupported)


def test_wddm_reading_keeps_per_process_memory_null():
    sampler = Sampler.__new__(Sampler)
    sampler._nvml = _nvml(0)  # NVML_DRIVER_WDDM
    line = sampler._read(0, "handle", 1.0, {4242: 3})
    assert line.procs == {"3": ProcMemory(pid=4242, mem_mb=None)}
    assert line.driver_model == "WDDM" and line.mem_used_mb == 7000.0
    sampler._nvml = _nvml(None)  # Linux: not supported
    assert sampler._read(0, "handle", 1.0, {4242: 3}).driver_model is None


def test_driver_model_names():
    assert [driver_model(v) for v in ([0, 0], (1, 1), 2, None, [])] == \
        ["WDDM", "TCC", "MCDM", None, None]
