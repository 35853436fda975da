"""events.jsonl as types: one tagged Struct per thing the supervisor and the stages record.

    Supervisor / generate / stages ──EventLog.emit(WorkerDied(worker=1, how=…))──►
        {"event": "worker_died", "worker": 1, "how": "…", "unit": null, "at": "…"}

`event` is the tag; `at` (UTC) is stamped by EventLog. `decode_event` reads a line back
(tests, tools) and refuses an unknown event name. The table in docs/run-directory.md lists
every event and its fields; a field added later gets a default.
"""

from __future__ import annotations

from typing import Any

import msgspec

from evalcli.store.manifest import Decision, LookRecord


class Event(msgspec.Struct, kw_only=True, tag_field="event"):
    at: str = ""


class GenerateStart(Event, tag="generate_start"):
    units: int
    engine: str


class GenerateEnd(Event, tag="generate_end"):
    supervisor_cpu_s: float


class WorkerStart(Event, tag="worker_start"):
    worker: int
    pid: int | None
    variant: int  # which engine variant (model) it loads; 0 without a model sweep


class WorkerReady(Event, tag="worker_ready"):
    worker: int
    pid: int
    variant: int


class WorkerSwitch(Event, tag="worker_switch"):
    """An idle worker restarted with the next model of a model sweep."""

    worker: int
    variant_from: int
    variant_to: int
    how: str


class WorkerDied(Event, tag="worker_died"):
    worker: int
    how: str  # e.g. "killed by SIGKILL (out of memory?)"
    unit: str | None  # in flight, or None


class WorkerRestart(Event, tag="worker_restart"):
    worker: int
    restarts: int


class WorkerExit(Event, tag="worker_exit"):
    worker: int
    how: str


class Retry(Event, tag="retry"):
    unit: str
    error: str
    attempt: int


class UnitFailed(Event, tag="unit_failed"):
    unit: str
    error: str
    kind: str


class UnitTimeout(Event, tag="unit_timeout"):
    worker: int
    unit: str
    after_s: float


class EngineLoadFailed(Event, tag="engine_load_failed"):
    worker: int
    error: str


class Halted(Event, tag="halted"):
    failed_in_a_row: int
    last_error: str


class StoppingRun(Event, tag="stopping"):
    reason: str  # "signal", "STOP file", or "verdict"
    in_flight: int


class StopNow(Event, tag="stop_now"):
    reason: str


class UnexpectedReply(Event, tag="unexpected_reply"):
    worker: int
    unit: str


class UnexpectedResult(Event, tag="unexpected_result"):
    unit: str


class SequentialLook(Event, tag="sequential_look"):
    look: LookRecord


class VerdictReached(Event, tag="verdict"):
    decision: Decision
    direction: str
    items: int
    of_items: int


class TelemetryStart(Event, tag="telemetry_start"):
    interval_s: float
    gpus: int


class TelemetryOff(Event, tag="telemetry_off"):
    reason: str


class BatchState(Event, tag="batch_state"):
    jobs: list[dict[str, Any]]  # key, status, remote_state of each batch job


class ResumeForced(Event, tag="resume_forced"):
    changes: list[str]


class ScoringChanged(Event, tag="scoring_changed"):
    """`evalcli resume --abstain-phrase`: refusal wordings added to the run's [scoring]."""

    abstain_phrases_added: list[str]


class StageRedone(Event, tag="stage_redone"):
    stage: str
    outputs: list[str]  # each "path (missing | changed | not verified)"
    source: str


AnyEvent = (GenerateStart | GenerateEnd | WorkerStart | WorkerReady | WorkerSwitch | WorkerDied
            | WorkerRestart | WorkerExit | Retry | UnitFailed | UnitTimeout | EngineLoadFailed
            | Halted | StoppingRun | StopNow | UnexpectedReply | UnexpectedResult
            | SequentialLook | VerdictReached | TelemetryStart | TelemetryOff | BatchState
            | ResumeForced | ScoringChanged | StageRedone)

_decoder = msgspec.json.Decoder(AnyEvent)


def decode_event(line: bytes | str) -> AnyEvent:
    """One events.jsonl line as its type (msgspec.ValidationError for an unknown event)."""
    return _decoder.decode(line)
