"""telemetry.jsonl: one GPU sample per line, its type, and how it is read.

The sampler (evalcli/run/telemetry.py) appends a `GpuSample` per GPU per interval; the
resource attribution (evalcli/science/resources.py) and the report's plots
(evalcli/report/resource_plots.py) read them back as the same type. A reading the GPU or
the tool could not give is null, never a made-up number (docs/run-directory.md).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

TELEMETRY_FILE = "telemetry.jsonl"


class ProcMemory(msgspec.Struct, kw_only=True):
    """The VRAM one worker process held; `mem_mb` null where the driver does not say
    (Windows WDDM)."""

    pid: int | None = None
    mem_mb: float | None = None


class GpuSample(msgspec.Struct, kw_only=True):
    """One reading of one GPU at wall-clock epoch seconds `t`."""

    t: float
    gpu: int = 0
    source: str = ""  # "nvml" | "nvidia-smi"
    name: str = ""
    util_gpu: float | None = None  # percent over the sample period just ended
    util_mem: float | None = None
    mem_used_mb: float | None = None
    mem_total_mb: float | None = None
    power_w: float | None = None
    energy_mj: float | None = None  # the GPU's energy counter (Volta on), mJ
    temp_c: float | None = None
    sm_clock_mhz: float | None = None
    mem_clock_mhz: float | None = None
    throttle: list[str] | None = None
    driver_model: str | None = None  # "WDDM" | "TCC" | "MCDM" on Windows, null elsewhere
    procs: dict[str, ProcMemory] = {}  # worker index (as text) -> its VRAM


_decode = msgspec.json.Decoder(GpuSample).decode


def read_telemetry(path: Path) -> list[GpuSample]:
    """Every readable line of telemetry.jsonl; a torn line (a killed writer) or one that is
    not a sample is skipped: telemetry describes the run, it never stops a stage."""
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(_decode(line))
        except msgspec.DecodeError:  # ValidationError included
            continue
    return out


def encode_samples(samples: list[GpuSample]) -> bytes:
    """The lines to append for `samples`."""
    return b"".join(msgspec.json.encode(s) + b"\n" for s in samples)
