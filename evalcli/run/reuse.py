"""Reuse of finished answers across runs: what a unit's key is, and a run's side of the store.

    engine variant ──answer_identity() + the model file's sha256──► model key
    unit ──its request: messages, item key, every sampling parameter, the seed──┐
    model key ──────────────────────────────────────────────────────────────────┴► unit key
    pending units ──split()──► found: records with `reused_from` (no model call)
                             └► the rest, for the engine
    fresh ok answers ──keep(), flush() after each supervisor wake-up──► the store

The key covers everything that decides an answer and that evalcli controls; a change in any
part (the seed, the model file, a thread count, one character of a prompt) is another key,
so nothing is reused across it. The rendered prompt is fixed by the messages, the prompt
format options (template, separator, cue) and the model file (its own template and
vocabulary) under one llama.cpp build — every one of them is in the key. docs/reuse.md.

Reuse is an accelerator: a store that cannot be used is one warning line and the run goes
on calling the model for every unit.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from engines.base import EngineLoadError, Request
from evalcli.run.pipeline import Setup
from evalcli.run.plan import Unit, Units
from evalcli.store.answer_cache import AnswerCache, AnswerCacheError, StoredAnswer
from evalcli.store.manifest import AnswerReuse, Manifest
from evalcli.store.results import ResultRecord, ReusedFrom

KEY_VERSION = 1  # part of every key: a change in what keys mean never matches old rows
_encode = msgspec.json.Encoder(order="deterministic").encode


def _sha(value) -> str:
    return hashlib.sha256(_encode(value)).hexdigest()


def model_identity(engine) -> dict:
    """What, besides the request, decides this engine variant's answers (a ResolvedEngine):
    the engine's own answer_identity, with a model file named by its sha256 (hashed once per
    size and mtime: evalcli.environment), and the GPUs' names when layers are offloaded."""
    from evalcli import environment

    identity = {"engine": engine.name, **engine.cls.answer_identity(engine.options)}
    if getattr(engine.options, "n_gpu_layers", 0):  # kernels differ between GPU models
        identity["gpus"] = sorted(str(g.get("name", "")) for g in environment.gpu_info())
    if engine.model_path:
        try:
            identity["model"] = environment.model_fingerprint(Path(engine.model_path))["sha256"]
        except OSError as exc:
            raise EngineLoadError(f"cannot hash {engine.model_path} ({exc})") from None
    return identity


def model_key(identity: dict) -> str:
    return _sha({"v": KEY_VERSION, "identity": identity})


def unit_key(model: str, request: Request) -> str:
    """The key of one request on one model: every field of the request but its unit id."""
    return _sha({"v": KEY_VERSION, "model": model, "item": request.item_key,
                 "messages": request.messages, "params": request.params})


@dataclass(frozen=True)
class _Model:
    key: str
    label: str


def default_path() -> Path:
    """$EVALCLI_ANSWER_CACHE, else answers.sqlite3 in the user's evalcli cache folder."""
    override = os.environ.get("EVALCLI_ANSWER_CACHE")
    if override:
        return Path(override).expanduser()
    from evalcli.inputs.demo_model import user_cache_dir

    return user_cache_dir() / "answers.sqlite3"


def store_path(setup: Setup) -> Path:
    configured = setup.profile.cache.path
    if not configured:
        return default_path()
    path = Path(configured).expanduser()
    return path if path.is_absolute() else setup.loaded.base_dir / path


class RunReuse:
    """One run's use of the answer store. `note(line)` prints a line for the user; every line
    is also kept in run.json (`reuse.notes`)."""

    def __init__(self, setup: Setup, manifest: Manifest, note: Callable[[str], None]) -> None:
        self.setup, self._note = setup, note
        path = store_path(setup)
        record = manifest.reuse if isinstance(manifest.reuse, AnswerReuse) else None
        if record is None or record.store != str(path):
            record = AnswerReuse(store=str(path), reused=record.reused if record else 0,
                                 from_runs=record.from_runs if record else {},
                                 stored=record.stored if record else 0)
        manifest.reuse = self.record = record
        self._pending: list[tuple[str, str, str, StoredAnswer, str, str]] = []
        self.models: list[_Model | None] = []
        try:
            self.store: AnswerCache | None = AnswerCache(path)
        except AnswerCacheError as exc:
            self.store = None
            self._warn(f"the answer store is not used: {exc} - the run goes on without it "
                       "(`evalcli cache clear` removes a damaged store)")
            return
        remote_ok = setup.profile.cache.remote
        for engine in setup.engines:
            label = engine.model_label
            self.models.append(None)
            if engine.cls.reuse == "never":
                self._say(f"reuse: the {engine.name} engine's answers are not reused")
                continue
            if engine.cls.reuse == "remote" and not remote_ok:
                self._say(f"reuse: {label} runs on a server evalcli does not control; its "
                          "answers are reused only with [cache] remote = true")
                continue
            try:
                key = model_key(model_identity(engine))
                refused = self.store.disabled(key)
            except EngineLoadError as exc:
                self._say(f"reuse: off for {label}: {exc}")
                continue
            except AnswerCacheError as exc:
                self._fail(exc)
                return
            if refused:
                self._say(f"reuse: off for {label}: {refused} (`evalcli cache clear --model "
                          f"{label}` turns it on again)")
                continue
            self.models[-1] = _Model(key, label)

    @property
    def active(self) -> bool:
        return self.store is not None and any(self.models)

    def _say(self, line: str) -> None:
        if line not in self.record.notes:  # a resume says it again, run.json keeps it once
            self.record.notes.append(line)
        self._note(line)

    def _warn(self, line: str) -> None:
        self._say(f"warning: {line}")

    def _fail(self, exc: AnswerCacheError) -> None:
        """The store failed mid-run: one warning, and no more use of it."""
        self._warn(f"the answer store is no longer used: {exc} - the run goes on without it")
        self.close(flush=False)

    def key(self, unit: Unit) -> tuple[_Model, str] | None:
        model = self.models[unit.variant] if unit.variant < len(self.models) else None
        if model is None:
            return None
        return model, unit_key(model.key, self.setup.plan.request(unit))

    def split(self, todo: Units) -> tuple[list[tuple[Unit, ResultRecord]], Units]:
        """The pending units whose answer the store holds (as records to append), and the
        rest (to run)."""
        found: list[tuple[Unit, ResultRecord]] = []
        if not self.active:
            return found, todo

        def keep(chunk: list[Unit]) -> list[bool]:
            if self.store is None:
                return [True] * len(chunk)
            keys = [self.key(unit) for unit in chunk]
            try:
                hits = self.store.get_many([k[1] for k in keys if k is not None])
            except AnswerCacheError as exc:
                self._fail(exc)
                return [True] * len(chunk)
            out = []
            for unit, k in zip(chunk, keys, strict=True):
                hit = hits.get(k[1]) if k is not None else None
                if hit is not None:
                    found.append((unit, reused_record(unit.custom_id, hit)))
                out.append(hit is None)
            return out

        return found, todo.select(keep)  # a store failed part-way: what was found stands

    def keep(self, unit: Unit, record: ResultRecord) -> None:
        """A fresh answer, stored at the next flush()."""
        if self.store is None or record.status != "ok" or record.reused_from is not None:
            return
        k = self.key(unit)
        if k is None:
            return
        model, key = k
        self._pending.append((key, model.key, model.label, StoredAnswer(
            text=record.text, finish_reason=record.finish_reason,
            prompt_tokens=record.prompt_tokens, completion_tokens=record.completion_tokens,
            tokens_source=record.tokens_source),
            self.setup.run_dir.run_id, unit.custom_id))

    def flush(self) -> None:
        if self.store is None or not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            self.record.stored += self.store.put_many(rows)
        except AnswerCacheError as exc:
            self._fail(exc)

    def disable(self, variant: int, reason: str) -> str | None:
        """Turn reuse off for an engine variant's model (a failed determinism check); the
        model's label, or None when reuse was not on for it."""
        model = self.models[variant] if variant < len(self.models) else None
        if model is None or self.store is None:
            return None
        try:
            self.store.disable(model.key, model.label, reason)
        except AnswerCacheError as exc:
            self._fail(exc)
            return None
        self.models[variant] = None
        return model.label

    def close(self, flush: bool = True) -> None:
        if flush:
            self.flush()
        if self.store is not None:
            self.store.close()
            self.store = None


def recount(setup: Setup, reuse: AnswerReuse) -> None:
    """run.json `reuse.reused` and `from_runs` from the results files (the source of truth:
    a kill between a results write and a run.json write loses no count)."""
    from evalcli.store.results import LatestResults

    reuse.reused, reuse.from_runs = 0, {}
    for trial in setup.plan.trials:
        with LatestResults(setup.run_dir.results(trial.slug)) as results:
            for record in results.records("ok"):
                if record.reused_from is not None:
                    reuse.reused += 1
                    run = record.reused_from.run_id
                    reuse.from_runs[run] = reuse.from_runs.get(run, 0) + 1


def reused_record(custom_id: str, hit) -> ResultRecord:
    """The record of a unit answered from the store: the answer and its token counts (and
    their source; an answer stored with a count missing is counted as it is taken), no
    latency, timings or times of its own (attempts 0: the model was not called)."""
    from evalcli.store.fsutil import utc_now

    a = hit.answer
    return ResultRecord(custom_id=custom_id, status="ok", text=a.text,
                        finish_reason=a.finish_reason, prompt_tokens=a.prompt_tokens,
                        completion_tokens=a.completion_tokens, tokens_source=a.tokens_source,
                        worker=-1, attempts=0,
                        finished_at=utc_now(),
                        reused_from=ReusedFrom(run_id=hit.run_id, custom_id=hit.custom_id))


