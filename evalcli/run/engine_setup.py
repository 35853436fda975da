"""Turn a profile's [engine] table into what the supervisor spawns: engine name, validated
Options, and the number of workers (within the engine's cap).

Parent-side resolution happens here, before any spawn:
    llama_cpp  model "" → the embedded demo model; relative model and chat_template paths →
               against the profile's folder; chat_template "auto" → "gguf" or "completion"
               from the GGUF header (so the plan and the manifest hold the concrete prompt
               format); n_threads 0 → CPU cores / workers (N workers must not oversubscribe)
    mock       the answer key comes from the run's items.jsonl, read by each worker (dry runs
               score meaningfully; the supervisor holds no per-item key)
    any engine with a `model` option: --model overrides it
    any engine with an `api_key_env`: the key is read and checked here (a trailing newline
               stripped with a note; a space, control or non-ASCII character → ConfigError,
               the key never shown)
    engine.variants (a sweep over models / option sets): one ResolvedEngine per variant, all
               with the smallest worker count any of them allows
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from engines import engine_class
from engines.base import Engine, effective_workers
from engines.secrets import BadKey, read_key
from evalcli.errors import ConfigError
from evalcli.inputs.config import EngineConfig, validate_engine_options
from evalcli.run import capacity


@dataclass
class ResolvedEngine:
    name: str
    cls: type[Engine]
    options: Any  # the engine's Options struct
    workers: int
    cap_note: str  # why fewer workers than requested, or ""
    notes: list[str] = field(default_factory=list)  # every adjustment, one line each

    def options_for_manifest(self) -> dict:
        data = msgspec.to_builtins(self.options)
        if "answer_key" in data:
            data["answer_key"] = f"<{len(data['answer_key'])} items>"
        return data

    @property
    def model_label(self) -> str:
        return self.cls.model_label(self.options)

    @property
    def identity(self) -> dict:
        """What makes this engine's answers what they are (part of every trial's slug hash)."""
        return {"engine": self.name, "model": getattr(self.options, "model", ""),
                "options": {k: v for k, v in self.options_for_manifest().items()
                            if k not in ("answer_key", "answer_file", "verbose", "n_threads")
                            and not (k in ADDED_AT_DEFAULT and ADDED_AT_DEFAULT[k] == v)}}

    @property
    def prompt_format(self) -> str:
        """How prompts reach the model: "completion" (plain text) or "chat:<template>";
        "chat" for engines that send chat messages to a server that applies its template."""
        template = getattr(self.options, "chat_template", "")
        if self.name != "llama_cpp" or not template:
            return "chat"
        from engines.llama_cpp import prompt_format

        return prompt_format(template)

    @property
    def model_path(self) -> str | None:
        model = getattr(self.options, "model", "")
        return model if self.name == "llama_cpp" and model else None


# options added after runs were written, at their default: left out of the identity so an
# older run's trials keep their slugs (resume finds them)
ADDED_AT_DEFAULT: dict[str, Any] = {"gpu_placement": "split", "gpu_count": 0}


def resolve_engines(engine: EngineConfig, *, base_dir: Path, label: str,
                    items_file: Path | None, units: int,
                    unit_timeout_s: float | None = None) -> list[ResolvedEngine]:
    """One ResolvedEngine per variant (one without variants); every variant runs with the
    smallest worker count any of them allows, so a worker can switch between them."""
    if not engine.variants:
        return [resolve_engine(engine, base_dir=base_dir, label=label, items_file=items_file,
                               units=units, unit_timeout_s=unit_timeout_s)]
    resolved = [resolve_engine(msgspec.structs.replace(engine, options=options, variants=[]),
                               base_dir=base_dir, label=label, items_file=items_file,
                               units=units,
                               unit_timeout_s=unit_timeout_s)
                for options in engine.option_sets()]
    workers = min(r.workers for r in resolved)
    note = next((r.cap_note for r in resolved if r.workers == workers and r.cap_note), "")
    out = []
    for r, given in zip(resolved, engine.option_sets(), strict=True):
        options = r.options
        if r.name == "llama_cpp" and not given.get("n_threads"):
            options = msgspec.structs.replace(options, n_threads=max(1, (os.cpu_count() or 1)
                                                                     // workers))
        out.append(ResolvedEngine(r.name, r.cls, options, workers, note, r.notes))
    return out


def resolve_engine(engine: EngineConfig, *, base_dir: Path, label: str,
                   items_file: Path | None = None, units: int,
                   unit_timeout_s: float | None = None) -> ResolvedEngine:
    """`items_file`: the run's items.jsonl (written before any worker starts): the mock
    engine reads its answer key from it."""
    cls = engine_class(engine.name)
    options = validate_engine_options(engine, label)
    changes: dict[str, Any] = {}
    if engine.name == "llama_cpp":
        if not options.model:
            from evalcli.inputs.demo_model import demo_model_path

            changes["model"] = str(demo_model_path())
        elif not Path(options.model).expanduser().is_absolute():
            changes["model"] = str((base_dir / Path(options.model).expanduser()).resolve())
        else:
            changes["model"] = str(Path(options.model).expanduser())
        from engines.llama_cpp import NAMED_CHOICES

        template = options.chat_template
        if template not in NAMED_CHOICES and not Path(template).is_absolute():
            changes["chat_template"] = str((base_dir / template).resolve())
        elif template == "auto":
            changes["chat_template"] = cls.resolve_chat_template(
                msgspec.structs.replace(options, model=changes["model"]))
    if engine.name == "mock" and not options.answer_key and not options.answer_file \
            and items_file is not None:
        changes["answer_file"] = str(items_file)
    cap, reason = capacity.general_cap(*cls.worker_cap(options))
    if engine.name == "llama_cpp":
        model = changes.get("model", options.model)
        fits, why = capacity.llama_memory_cap(msgspec.structs.replace(options, model=model),
                                              min(engine.workers, cap, max(units, 1)))
        if fits is not None and fits < cap:
            cap, reason = fits, why + " - lower --workers or use a smaller model"
    workers = effective_workers(engine.workers, cap, units)
    notes = []
    key_env = getattr(options, "api_key_env", "")
    if key_env:  # checked before anything is sent or written; the key is never shown
        try:
            _, warning = read_key(key_env)
        except BadKey as exc:
            raise ConfigError(f"{label}: engine.options.api_key_env - {exc}") from None
        if warning:
            notes.append(warning)
    if engine.name == "llama_cpp":
        if options.gpu_placement == "per_worker" and options.gpu_count == 0:
            from evalcli import environment

            changes["gpu_count"] = max(1, len(environment.gpu_info() or []))
        cores = os.cpu_count() or 1
        if options.n_threads == 0:
            changes["n_threads"] = max(1, cores // workers)
        threads = changes.get("n_threads", options.n_threads)
        if options.n_gpu_layers == 0 and workers * threads > cores:
            notes.append(f"{workers} llama.cpp worker(s) x {threads} threads > {cores} CPU "
                         "cores: the workers slow each other down (each step waits for all its "
                         "threads) - lower --workers or engine.options.n_threads")
    timeout, why = capacity.request_timeout(options, unit_timeout_s)
    if timeout is not None:
        changes["timeout_s"] = timeout
        notes.append(why)
    if changes:
        options = msgspec.structs.replace(options, **changes)
    note = ""
    if engine.workers > cap and workers < engine.workers:
        note = f"using {workers} worker(s) instead of {engine.workers}: {reason}"
        notes.insert(0, note)
    return ResolvedEngine(engine.name, cls, options, workers, note, notes)
