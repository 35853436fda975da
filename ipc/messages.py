"""The wire protocol between the supervisor and its engine workers.

    supervisor ──Generate / GenerateMany / Shutdown──►  worker
    supervisor ◄──Ready / Completed / Failed──  worker

Frozen tagged msgspec Structs, one tagged union per direction, msgpack-encoded. Commands
to a worker are imperative; reports are nouns/past tense. Schema evolution: a field added
later gets a default; no field ever changes type.
"""

from __future__ import annotations

import msgspec

from engines.base import Completion, ErrorKind, Request


class Message(msgspec.Struct, frozen=True, tag=str.lower):
    pass


class Generate(Message):
    request: Request


class GenerateMany(Message):
    """Several requests in one frame: the worker answers each, in order, one reply each."""

    requests: list[Request]


class Shutdown(Message):
    pass


class Ready(Message):
    pid: int
    engine: str
    info: dict[str, str] = {}


class Completed(Message):
    unit_id: str
    completion: Completion


class Failed(Message):
    """A request failed (unit_id set) or the worker could not start (unit_id None)."""

    unit_id: str | None
    error: str
    kind: ErrorKind = "engine_error"
    retryable: bool = False
    traceback: str = ""
    worker_exits: bool = False  # the engine may be corrupted: the worker exits after this


ToWorker = Generate | GenerateMany | Shutdown
FromWorker = Ready | Completed | Failed


class WorkerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a spawned worker needs, as plain data (never a pickled engine)."""

    engine: str
    options: dict  # validated builtins of the engine's Options struct
    worker_index: int
