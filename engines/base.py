"""What every engine consumes and produces, and the small interface engines implement.

    parent (supervisor)                      worker process
    ───────────────────                      ──────────────
    Engine.Options  ── validated here ──►    Engine(options, worker_index)   # load model / open session
    Engine.preflight(options) (HTTP checks)  engine.generate(Request) -> Completion
                                             engine.close()

This module imports nothing else of the project: `ipc/` carries these values between
processes and `evalcli/` builds them; engines never learn about runs, stages or the CLI.

Errors an engine raises:
    EngineError       one request failed (prompt too long, HTTP 500 after retries, ...):
                      recorded on that unit, the run goes on. `retryable` says whether the
                      supervisor may try the unit again on the same worker.
    EngineFault       (an EngineError) a request failed inside native code — on Windows a
                      fault in a llama.cpp call surfaces as OSError — so the engine's memory
                      may be corrupted: the worker replies (retryable), then exits, and a
                      fresh worker serves the next unit.
    EngineLoadError   the engine cannot start (model file missing, server unreachable,
                      model not pulled): the run stops with this message; never respawned.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec


class ConfigStruct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base for every configuration struct: immutable, and a typo is an error with a path."""


# Ranges of configuration values, said by the types (msgspec constraints) so decoding checks
# them: every number has a bound on both sides, which also refuses nan and ±inf.
MAX_COUNT = 2**31 - 1
MAX_SEED = 2**63 - 1
MAX_SECONDS = 10_000_000.0  # about 115 days
# an http:// or https:// URL ("" = not set); evalcli's error message suggests the fix
URL_PATTERN = r"(?i)^(https?://.+)?$"
Url = Annotated[str, msgspec.Meta(pattern=URL_PATTERN)]


def IntRange(ge: int = 0, le: int = MAX_COUNT) -> Any:  # noqa: N802 - a type, used as one
    """An integer in [ge, le]."""
    return Annotated[int, msgspec.Meta(ge=ge, le=le)]


def FloatRange(*, ge: float | None = None, gt: float | None = None,  # noqa: N802
               le: float | None = None, lt: float | None = None) -> Any:
    """A finite float within the given bounds (one lower and one upper bound)."""
    return Annotated[float, msgspec.Meta(ge=ge, gt=gt, le=le, lt=lt)]


Seconds = FloatRange(gt=0, le=MAX_SECONDS)  # a timeout: > 0 and finite
Delay = FloatRange(ge=0, le=MAX_SECONDS)  # a wait that may be 0
Probability = FloatRange(ge=0, le=1)


class ChatMessage(msgspec.Struct, frozen=True):
    role: str  # "system" | "user" | "assistant"
    content: str


class SamplingParams(msgspec.Struct, frozen=True, kw_only=True):
    """Every sampling setting, always explicit: engine defaults are never relied on."""

    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    seed: int
    stop: list[str] = []
    repeat_penalty: float = 1.0


class Request(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: str
    messages: list[ChatMessage]
    params: SamplingParams
    item_key: str = ""  # "dataset|item_id": for logs, and for the mock engine's answer key


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    finish_reason: str  # "stop" | "length" | engine-specific
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    request_id: str = ""
    # engine-specific timings and facts (e.g. prompt_eval_ms, cached prompt tokens); numbers only
    timings: dict[str, float] = {}


# Why a unit failed (results.jsonl `error_kind`): the engines' own kinds, then the worker's
# and the supervisor's. A new kind is added here and in evalcli/store/results.py (a test
# keeps them equal; docs/run-directory.md lists them).
ErrorKind = Literal[
    "engine_error", "connection", "timeout", "rate_limited", "http_4xx", "http_5xx",
    "bad_response", "empty_response", "model_error", "context_overflow", "llama_error",
    "batch_timeout", "batch_missing", "batch_error", "mock_failure",
    "load",  # the worker could not start its engine
    "exception",  # an engine raised something other than EngineError (a bug)
    "crash",  # workers died running the unit, max_crashes_per_unit times
]


class EngineError(Exception):
    """One request failed; recorded on its unit. `retryable` lets the supervisor try again."""

    def __init__(self, message: str, *, retryable: bool = False,
                 kind: ErrorKind = "engine_error"):
        super().__init__(message)
        self.retryable = retryable
        self.kind = kind


class EngineFault(EngineError):
    """A request failed inside native code; this process must not serve another one."""

    def __init__(self, message: str, *, kind: ErrorKind = "engine_error"):
        super().__init__(message, retryable=True, kind=kind)


class EngineLoadError(Exception):
    """The engine cannot start at all (bad model, server down). Fatal for the run."""


class Engine:
    """One engine instance lives in one worker process and serves one request at a time."""

    name: ClassVar[str]
    # Upper bound on concurrent workers this engine supports on one machine (None = no cap).
    max_workers: ClassVar[int | None] = None

    class Options(ConfigStruct):
        pass

    @classmethod
    def preflight(
        cls, options: Any, *, workers: int, longest_request: Request | None = None
    ) -> list[str]:
        """Checks run in the parent before any worker starts.

        Raise EngineLoadError for a problem that makes the run pointless (server unreachable,
        model missing); return warnings (strings) for things the user should know, e.g. when
        `longest_request` (the planned request with the longest prompt) plus its max_tokens
        may not fit the model's context.
        """
        return []

    @classmethod
    def tokenizer(cls, options: Any) -> Any | None:
        """The model's own tokenizer in the parent (`count_prompt(messages)`, `count(text)`,
        `template_name`, `source`, `close()`), or None when evalcli has none for this engine."""
        return None

    @classmethod
    def secrets(cls, options: Any) -> list[str]:
        """The secrets these options send (API keys): everything the engine returns is
        scrubbed of them (ipc/worker.py), and run.json keeps only their fingerprint. May raise
        EngineLoadError (a key named but unset or unusable); the message never shows a key."""
        return []

    @classmethod
    def worker_cap(cls, options: Any) -> tuple[int | None, str]:
        """The most workers this engine can usefully run with these options, and why."""
        return cls.max_workers, ""

    # May a later run take this engine's answers from an earlier one (evalcli/run/reuse.py)?
    # "local": the answer is fixed by answer_identity() and the request; "remote": a server
    # evalcli does not control (reused only when the user opts in); "never": not offered.
    reuse: ClassVar[Literal["local", "remote", "never"]] = "never"

    @classmethod
    def answer_identity(cls, options: Any) -> dict[str, Any]:
        """Everything besides the request that decides an answer with these options (JSON
        values): output-relevant options, engine build, model digest. A `model` that is a
        file path is replaced by the file's sha256 by the caller. Raise EngineLoadError when
        it cannot be known (then nothing is reused)."""
        return msgspec.to_builtins(options)

    @classmethod
    def model_label(cls, options: Any) -> str:
        """A short human name for the model these options select (used in trial slugs)."""
        return getattr(options, "model", "") or cls.name

    def __init__(self, options: Any, worker_index: int = 0) -> None:
        self.options = options
        self.worker_index = worker_index

    def describe(self) -> dict[str, str]:
        """Facts about the loaded model/session for the manifest (strings only)."""
        return {}

    def generate(self, request: Request) -> Completion:
        raise NotImplementedError

    def close(self) -> None:
        pass


def effective_workers(requested: int, engine_cap: int | None, units: int) -> int:
    """Workers actually started: the request, within the engine's cap, never more than units."""
    workers = requested
    if engine_cap is not None:
        workers = min(workers, engine_cap)
    return max(1, min(workers, max(units, 1)))
