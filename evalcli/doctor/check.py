"""What a doctor check returns, and the context every check reads.

    Context(profile?, model?, runs_dir)
       ├─ loaded profile / its ConfigError (one line)     checks_engines
       ├─ engine options, effective workers, model path   checks_llama, checks_gpu, checks_system
       └─ gpu() — the NVML probe, run once and shared     checks_gpu, checks_llama

Building a Context never raises and never writes anything: a bad profile is kept as
`profile_error` and reported by the profile check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

Status = Literal["ok", "warn", "fail", "skip"]


class Check(msgspec.Struct, frozen=True):
    name: str
    status: Status
    detail: str
    fix: str = ""


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


@dataclass
class Context:
    profile_arg: str | None = None
    model_arg: Path | None = None
    runs_dir: Path = Path("runs")
    loaded: Any = None  # LoadedProfile
    profile_error: str = ""
    engine_name: str = ""
    options: Any = None  # the engine's validated Options struct
    workers: int = 1
    facts: dict[str, Any] = field(default_factory=dict)  # what one check learned for another
    _gpu: Any = field(default=None, repr=False)

    @classmethod
    def build(cls, profile: str | None = None, model: Path | None = None,
              runs_dir: Path = Path("runs")) -> Context:
        ctx = cls(profile_arg=profile, model_arg=model, runs_dir=runs_dir)
        if profile is None:
            return ctx
        from engines import engine_class
        from engines.base import effective_workers
        from evalcli.errors import EvalcliError
        from evalcli.inputs.config import load_profile, validate_engine_options

        try:
            ctx.loaded = load_profile(profile)
            engine = ctx.loaded.profile.engine
            ctx.options = validate_engine_options(engine, ctx.loaded.source)
        except EvalcliError as exc:
            ctx.loaded, ctx.profile_error = None, exc.message
            return ctx
        ctx.engine_name = engine.name
        cap, _ = engine_class(engine.name).worker_cap(ctx.options)
        ctx.workers = effective_workers(engine.workers, cap, units=1 << 30)
        if engine.name == "llama_cpp":
            changes: dict[str, Any] = {}
            model = ctx.llama_model()
            if model is not None:
                changes["model"] = str(model)
            if ctx.options.n_threads == 0:
                changes["n_threads"] = max(1, (os.cpu_count() or 1) // ctx.workers)
            ctx.options = msgspec.structs.replace(ctx.options, **changes)
        return ctx

    # -- what the checks ask -----------------------------------------------------------------
    def llama_model(self) -> Path | None:
        """The GGUF a llama_cpp profile (or --model) would load; None when unknown."""
        if self.model_arg is not None:
            return self.model_arg.expanduser().resolve()
        if self.engine_name != "llama_cpp":
            return None
        if not self.options.model:
            from evalcli.inputs.demo_model import demo_model_target

            return demo_model_target()
        path = Path(self.options.model).expanduser()
        return path if path.is_absolute() else (self.loaded.base_dir / path).resolve()

    def gpu_layers(self) -> int:
        return self.options.n_gpu_layers if self.engine_name == "llama_cpp" else 0

    def gpu(self):
        """The NVML probe result (see nvml.probe_nvml), computed once."""
        if self._gpu is None:
            from evalcli.doctor.nvml import probe_nvml

            self._gpu = probe_nvml()
        return self._gpu
