"""What each arm used: GPU telemetry attributed to units by time, then summed per arm.

    telemetry.jsonl (samples per GPU) ──intervals──┐
    results.jsonl (unit: worker, started_at, ended_at) ──► per-unit shares ──► per arm:
        gpu_seconds, gpu_busy_seconds, energy_j, peak_vram_mb        (+ "idle": nobody ran)

Method (documented in docs/run-directory.md#resources):
- Per GPU, consecutive samples (t0, t1) form an interval. An interval longer than
  GAP_FACTOR × the median interval spans a pause (between a stop and a resume) and is
  left out.
- The interval's energy is the energy counter's difference (mJ → J) when both samples have
  it and it did not go backwards, else the trapezoid of the two power readings × (t1 - t0).
  Power is taken as constant within an interval.
- At each instant of the interval the GPU is split equally among the units running then
  (started_at ≤ instant < ended_at, on any worker); instants with no unit running — model
  loading, gaps between dispatches — go to `idle`. A unit's GPU-seconds and joules are its
  shares summed over intervals and GPUs, so arms + idle add up to the whole.
- gpu_busy_seconds weights each interval by the utilisation NVML reported at its end (the
  utilisation over the sample period just ended).
- peak_vram_mb: the largest VRAM its worker process held, at a sample taken while one of
  the arm's units ran. Never the GPU's memory in use (the desktop and the other workers are
  in it): when NVML lists the worker without its memory (Windows WDDM), peak_vram_mb stays
  null and peak_vram_unavailable says why ("Windows WDDM").
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from evalcli.store.predictions import PredictionRow
from evalcli.store.telemetry import GpuSample

TELEMETRY_FILE = "telemetry.jsonl"
GAP_FACTOR = 5.0
IDLE = "idle"
WDDM = "Windows WDDM"  # why a peak VRAM is missing: NVML's per-process memory is None
NOT_PER_PROCESS = "not reported per process"


def unit_key(row: PredictionRow) -> str:
    """One executed unit (a shared unit appears in several trials under one key)."""
    return f"{row.worker}@{row.started_at:.3f}"


def _interval_energy(a: GpuSample, b: GpuSample) -> float | None:
    e0, e1 = a.energy_mj, b.energy_mj
    if e0 is not None and e1 is not None and e1 >= e0:
        return (e1 - e0) / 1000.0
    p0, p1 = a.power_w, b.power_w
    if p0 is not None and p1 is not None:
        return (p0 + p1) / 2.0 * (b.t - a.t)
    return None


def _shares(units: list[tuple[float, float, str]], t0: float, t1: float) -> dict[str, float]:
    """Seconds of [t0, t1) owned by each key: each instant split equally among running units."""
    running = [(max(s, t0), min(e, t1), key) for s, e, key in units if s < t1 and e > t0]
    cuts = sorted({t0, t1, *(s for s, _, _ in running), *(e for _, e, _ in running)})
    owned: dict[str, float] = defaultdict(float)
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        active = [key for s, e, key in running if s <= lo and e >= hi]
        if not active:
            owned[IDLE] += hi - lo
        for key in active:
            owned[key] += (hi - lo) / len(active)
    return owned


def attribute(samples: list[GpuSample], units: list[dict[str, Any]]
              ) -> dict[str, dict[str, Any]]:
    """Per key (and `idle`): gpu_seconds, gpu_busy_seconds, energy_j, peak_vram_mb,
    peak_vram_unavailable ("" or why it is null).

    `units`: dicts with key (e.g. "<trial>|<condition>"), worker, started_at, ended_at.
    """
    spans = [(u["started_at"], u["ended_at"], u["key"]) for u in units
             if u.get("started_at") and u.get("ended_at", 0) >= u["started_at"]]
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"gpu_seconds": 0.0, "gpu_busy_seconds": 0.0,
                                                   "energy_j": 0.0, "peak_vram_mb": None,
                                                   "peak_vram_unavailable": ""})
    by_gpu: dict[int, list[GpuSample]] = defaultdict(list)
    for sample in samples:
        by_gpu[sample.gpu].append(sample)
    for gpu_samples in by_gpu.values():
        gpu_samples.sort(key=lambda s: s.t)
        steps = [b.t - a.t for a, b in zip(gpu_samples, gpu_samples[1:], strict=False)]
        if not steps:
            continue
        limit = GAP_FACTOR * statistics.median(steps)
        for a, b in zip(gpu_samples, gpu_samples[1:], strict=False):
            dt = b.t - a.t
            if dt <= 0 or dt > limit:
                continue
            energy = _interval_energy(a, b)
            util = b.util_gpu
            for key, seconds in _shares(spans, a.t, b.t).items():
                row = totals[key]
                row["gpu_seconds"] += seconds
                if util is not None:
                    row["gpu_busy_seconds"] += seconds * util / 100.0
                if energy is not None:
                    row["energy_j"] += energy * seconds / dt
        for sample in gpu_samples:
            _peak(totals, sample, units)
    return {key: {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
            for key, row in totals.items()}


def attribute_rows(samples: list[GpuSample], rows: Iterable[PredictionRow]
                   ) -> dict[str, dict[str, Any]]:
    """attribute() over predictions rows (streamed; each executed unit once), keyed by
    unit_key; without samples the rows are not read."""
    if not samples:
        return {}
    units = {unit_key(r): {"key": unit_key(r), "worker": r.worker,
                           "started_at": r.started_at, "ended_at": r.ended_at}
             for r in rows if r.started_at > 0}
    return attribute(samples, list(units.values()))


def _peak(totals: dict[str, dict[str, Any]], sample: GpuSample,
          units: list[dict[str, Any]]) -> None:
    """The unit's worker's own VRAM; never the device's memory in use (desktop, other
    workers). Listed without memory (Windows WDDM): the reason is kept instead."""
    for unit in units:
        if not (unit.get("started_at", 0) <= sample.t < unit.get("ended_at", 0)):
            continue
        entry = sample.procs.get(str(unit.get("worker")))
        if entry is None:  # the worker holds no memory on this GPU
            continue
        row = totals[unit["key"]]
        vram = entry.mem_mb
        if vram is None:
            row["peak_vram_unavailable"] = (WDDM if sample.driver_model == "WDDM"
                                            else NOT_PER_PROCESS)
            continue
        row["peak_vram_mb"] = vram if row["peak_vram_mb"] is None else max(row["peak_vram_mb"], vram)
