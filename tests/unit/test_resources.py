"""Attribution of GPU telemetry to units by time, checked against hand-computed figures."""

from __future__ import annotations

import msgspec
import pytest

from evalcli.science.resources import IDLE, attribute
from evalcli.store.telemetry import GpuSample, ProcMemory, encode_samples, read_telemetry


def _sample(t, *, energy=None, power=None, util=None, mem=None, procs=None, driver_model=None):
    """A telemetry line as the sampler writes it, read back as its type."""
    return msgspec.convert({"t": t, "gpu": 0, "energy_mj": energy, "power_w": power,
                            "util_gpu": util, "mem_used_mb": mem, "procs": procs or {},
                            "driver_model": driver_model}, GpuSample)


def test_energy_counter_split_by_overlap_and_concurrency():
    # times 0.0 = "not recorded": a real run's are epoch seconds; unit times here start > 0
    # [0,1]: 10 J; [1,2]: 30 J. Unit a runs 0.5–2.0 on worker 0, unit b 1.0–1.5 on worker 1.
    samples = [_sample(0.0, energy=0, util=100, mem=1000.0),
               _sample(1.0, energy=10_000, util=80, mem=3000.0, procs={"1": {"mem_mb": 700.0}}),
               _sample(2.0, energy=40_000, util=40, mem=2000.0)]
    units = [{"key": "a", "worker": 0, "started_at": 0.5, "ended_at": 2.0},
             {"key": "b", "worker": 1, "started_at": 1.0, "ended_at": 1.5}]
    got = attribute(samples, units)
    # interval 1: idle 0–0.5 (5 J), a alone 0.5–1 (5 J)
    # interval 2: a and b share 1–1.5 (0.25 s each, 7.5 J each), a alone 1.5–2 (15 J)
    assert got["a"]["gpu_seconds"] == pytest.approx(0.5 + 0.25 + 0.5)
    assert got["b"]["gpu_seconds"] == pytest.approx(0.25)
    assert got[IDLE]["gpu_seconds"] == pytest.approx(0.5)
    assert got["a"]["energy_j"] == pytest.approx(5 + 7.5 + 15)
    assert got["b"]["energy_j"] == pytest.approx(7.5)
    assert got[IDLE]["energy_j"] == pytest.approx(5)
    # busy: interval 1 at 80 %, interval 2 at 40 %
    assert got["a"]["gpu_busy_seconds"] == pytest.approx(0.5 * 0.8 + 0.75 * 0.4)
    # peak VRAM: the sample at t=1 falls in both; b's worker is listed (700); a's is not, and
    # the GPU's 3000 in use (the desktop, b's worker) is never taken for a's own
    assert got["a"]["peak_vram_mb"] is None and got["b"]["peak_vram_mb"] == 700.0
    assert got["a"]["peak_vram_unavailable"] == ""


@pytest.mark.parametrize("driver_model, why", [("WDDM", "Windows WDDM"),
                                               (None, "not reported per process")])
def test_peak_vram_unavailable_when_nvml_lists_no_memory(driver_model, why):
    """Windows WDDM: NVML lists the worker with usedGpuMemory None. The arm's peak is then
    unavailable, with the reason, and the report says so instead of the device total."""
    from evalcli.report.resources import _vram
    from evalcli.report.text import esc
    from evalcli.science.costs import GpuUse

    samples = [_sample(t, mem=7000.0, procs={"0": {"pid": 9, "mem_mb": None}},
                       driver_model=driver_model) for t in (1.0, 2.0)]
    got = attribute(samples, [{"key": "a", "worker": 0, "started_at": 0.5, "ended_at": 2.5}])
    assert got["a"]["peak_vram_mb"] is None and got["a"]["peak_vram_unavailable"] == why
    assert _vram(GpuUse(peak_vram_unavailable=why)) == esc(f"unavailable ({why})")
    assert _vram(GpuUse(peak_vram_mb=512.0)) == "512"


def test_power_integrated_when_no_counter_and_a_pause_is_left_out():
    samples = [_sample(100.0, power=100.0), _sample(101.0, power=200.0),
               _sample(102.0, power=200.0),  # then a stop, and a resume a minute later
               _sample(160.0, power=50.0), _sample(161.0, power=50.0)]
    units = [{"key": "u", "worker": 0, "started_at": 100.0, "ended_at": 161.0}]
    got = attribute(samples, units)
    assert got["u"]["energy_j"] == pytest.approx(150 + 200 + 50)
    assert got["u"]["gpu_seconds"] == pytest.approx(3.0)


def test_read_telemetry_skips_a_torn_last_line_and_lines_that_are_not_samples(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    path.write_bytes(b'{"t": 1.0, "gpu": 0}\n[1, 2]\n{"gpu": 1}\n{"t": "soon"}\n'
                     b'{"t": 3.0, "procs": {"0": {"mem_mb": "lots"}}}\n{"t": 2.0, "gp')
    assert read_telemetry(path) == [GpuSample(t=1.0, gpu=0)]
    assert read_telemetry(tmp_path / "absent.jsonl") == []


def test_telemetry_lines_read_back_as_written(tmp_path):
    """What the sampler appends (encode_samples) is what the readers get, nulls included."""
    written = [GpuSample(t=1.5, gpu=1, source="nvml", name="RTX 4070", util_gpu=87,
                         mem_used_mb=5120.0, power_w=210.5, energy_mj=123456789,
                         throttle=["sw_power_cap"], driver_model="WDDM",
                         procs={"0": ProcMemory(pid=1234, mem_mb=None)}),
               GpuSample(t=2.5)]
    path = tmp_path / "telemetry.jsonl"
    path.write_bytes(encode_samples(written))
    assert read_telemetry(path) == written
