"""The supervisor's crash / retry / backoff policy as a pure object: events in, decisions out.

The supervisor (run/supervisor.py) is the mechanism: it spawns workers, waits on their pipes
and sentinels, reaps and kills. Every choice about what a death, a failed answer or a timeout
*means* is made here, from counters alone — no processes, no clock, no I/O — so the whole
failure table (docs/run-directory.md#failure-semantics) is checked by unit tests that run
in milliseconds (tests/unit/test_ledger.py):

    event                                   decision
    unit sent to a worker                   one more try of that unit
    sent but never started (worker died)    that send was not a try
    worker ready                            its start-up failures forgotten
    unit answered                           the worker's crash streak and the run's failure
                                            streak reset
    engine error, retryable, tries left     Retry (requeue)
    engine error otherwise                  RecordFailure(error, kind)
    a failure recorded                      Halt after max_consecutive_failures in a row
    worker died before Ready (not timeout)  Halt after MAX_BOOT_FAILURES in a row
    worker died running a unit              Requeue; after max_crashes_per_unit deaths
                                            RecordFailure "crash" ("timeout" when killed for
                                            its unit's timeout)
    worker died, run not stopping           Restart after RESTART_BACKOFF_S[crash streak]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalcli.store.results import ErrorKind

RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
MAX_BOOT_FAILURES = 3  # consecutive deaths before Ready: the engine cannot start here


@dataclass(frozen=True)
class Policy:
    """The run's limits ([run] in the profile)."""

    engine: str  # the engine's name, for messages
    unit_timeout_s: float = 600.0
    max_crashes_per_unit: int = 3
    max_engine_retries: int = 2
    max_consecutive_failures: int = 10  # 0 = never halt


@dataclass(frozen=True)
class Retry:
    """Put the unit back for another try (an event names the attempt)."""

    attempt: int


@dataclass(frozen=True)
class Requeue:
    """Put the unit back: its worker died under it, tries are left."""


@dataclass(frozen=True)
class RecordFailure:
    """Write the unit as failed with this reason."""

    error: str
    kind: ErrorKind


@dataclass(frozen=True)
class Halt:
    """Stop the run (resumable) with this one-line message."""

    message: str


@dataclass(frozen=True)
class Death:
    """What a worker's death means: `halt` first (then nothing else applies), else what
    becomes of the unit it was running (None when idle) and when to start it again (None
    while the run is stopping)."""

    halt: Halt | None = None
    unit: Requeue | RecordFailure | None = None
    restart_after_s: float | None = None


@dataclass
class _Worker:
    boot_failures: int = 0  # deaths before Ready, in a row
    crash_streak: int = 0  # deaths since it last completed a unit


@dataclass
class Ledger:
    policy: Policy
    _attempts: dict[str, int] = field(default_factory=dict)
    _crashes: dict[str, int] = field(default_factory=dict)
    _workers: dict[int, _Worker] = field(default_factory=dict)
    _failure_streak: int = 0

    def _worker(self, index: int) -> _Worker:
        return self._workers.setdefault(index, _Worker())

    # -- tries -----------------------------------------------------------------------------
    def sent(self, unit_id: str) -> None:
        self._attempts[unit_id] = self._attempts.get(unit_id, 0) + 1

    def unsent(self, unit_id: str) -> None:
        """Sent ahead but never started (its worker died first): that send was not a try."""
        self._attempts[unit_id] = max(0, self._attempts.get(unit_id, 0) - 1)

    def attempts(self, unit_id: str) -> int:
        return self._attempts.get(unit_id, 1)

    # -- worker events ---------------------------------------------------------------------
    def ready(self, worker: int) -> None:
        self._worker(worker).boot_failures = 0

    def completed(self, worker: int) -> None:
        self._worker(worker).crash_streak = 0
        self._failure_streak = 0

    def engine_failed(self, unit_id: str, error: str, kind: ErrorKind,
                      retryable: bool) -> Retry | RecordFailure:
        """The engine answered a unit with an error."""
        tries = self.attempts(unit_id)
        if retryable and tries <= self.policy.max_engine_retries:
            return Retry(attempt=tries)
        return RecordFailure(error, kind)

    def failure_recorded(self, error: str) -> Halt | None:
        """A unit was written as failed: too many in a row and the engine looks broken."""
        self._failure_streak += 1
        limit = self.policy.max_consecutive_failures
        if limit and self._failure_streak >= limit:
            return Halt(f"stopped after {self._failure_streak} units in a row failed (last: "
                        f"{error}) — the {self.policy.engine} engine looks broken; see the "
                        "worker logs, fix the cause, then resume the run")
        return None

    @property
    def failure_streak(self) -> int:
        return self._failure_streak

    def died(self, worker: int, unit_id: str | None, *, was_ready: bool, timed_out: bool,
             how: str, stopping: bool, log_path: str = "") -> Death:
        """A worker died (`how`: the exit described); `unit_id` is the unit it was running."""
        state = self._worker(worker)
        if not was_ready and not timed_out:
            state.boot_failures += 1
            if state.boot_failures >= MAX_BOOT_FAILURES:
                see = f"; see {log_path}" if log_path else ""
                return Death(halt=Halt(
                    f"the {self.policy.engine} engine worker died {state.boot_failures} times "
                    f"while starting ({how}){see}"))
        unit: Requeue | RecordFailure | None = None
        if unit_id is not None:
            crashes = self._crashes[unit_id] = self._crashes.get(unit_id, 0) + 1
            if crashes < self.policy.max_crashes_per_unit:
                unit = Requeue()
            elif timed_out:
                unit = RecordFailure(f"timed out after {self.policy.unit_timeout_s:g} s "
                                     f"({crashes} tries; run.unit_timeout_s)", "timeout")
            else:
                unit = RecordFailure(f"worker died {crashes} times while running this unit "
                                     f"(last: {how})", "crash")
        if stopping:
            return Death(unit=unit)
        state.crash_streak += 1
        delay = RESTART_BACKOFF_S[min(state.crash_streak - 1, len(RESTART_BACKOFF_S) - 1)]
        return Death(unit=unit, restart_after_s=delay)
