"""The supervisor loop: feed units to engine workers, notice deaths at once, never lose work.

One thread, one loop, one wait over every worker's pipe and process sentinel:

    ┌──► dispatch: each ready worker is topped up to `in_flight` units from
    │      scheduler.next_for(worker)  (not while stopping)
    │    wait(pipes + sentinels, timeout = next deadline / restart / refresh)
    │      Ready      → ready
    │      Completed  → on_result(ok)             (every message waiting on the pipe is read)
    │      Failed     → retryable & tries left ? requeue : on_result(failed)
    │      Failed(None) = engine cannot start → stop the run (EngineStartError), no respawn loop
    │      death      → in-flight units requeued (the running one failed after K crashes);
    │                   restart with backoff
    │    unit past its timeout → kill the worker, once (its death is then a timeout)
    │    after_batch() → the caller flushes what on_result wrote, once per wake-up
    │    STOP file / first Ctrl+C / SIGTERM / stop_requested() → finish in-flight units, then
    │      return "stopped" (stop_requested may name its reason: "verdict" for a sequential run)
    └─── second Ctrl+C → kill workers now, return "stopped"

In flight per worker (`in_flight`, default 8): a worker serves its units in the order sent,
so while it runs one the next can already be in its pipe — then it never waits for the
supervisor to wake up, read a result and send more. Only fast units are sent ahead (the
worker's last unit took under PREFETCH_BELOW_S, and there is work for every worker): for
them IPC and wake-ups are the cost, so a worker down to half its queue is topped up in one
`GenerateMany` frame. A slow unit (a model answering) would gain nothing, and a unit waiting
behind it could not go to a worker that falls idle: slow units go one at a time. Every idle
worker gets a unit before any gets a second. The first unit of a slot's queue is the one running: its clock
(unit timeout, started_at) starts when the one before it is answered; a death counts as a
crash of that unit only, the queued ones go back to the scheduler untouched.

Several engine variants (a sweep over models): a worker is started with the model the
scheduler's first group needs and keeps it while that model has units; when the next unit it
is given belongs to another model, the worker is shut down and started again with that model
(`worker_switch` event) — each worker loads each model at most once.

Failure semantics (docs/run-directory.md#failure-semantics has the full table; the decisions
are made by the pure policy object in run/ledger.py, this loop applies them):
    worker killed / crashed    → unit requeued; after max_crashes_per_unit deaths → failed
    unit past unit_timeout_s   → worker killed once, one event; requeued like a crash, and
                                 after max_crashes_per_unit tries failed as "timeout"
    EngineError retryable      → retried up to max_engine_retries, then failed
    EngineError not retryable  → failed at once, with the reason
    Failed(worker_exits=True)  → a native fault (EngineFault): retried like a retryable error;
                                 nothing more is sent to that worker, its exit is no unit's
                                 crash, units sent ahead go back untried, a fresh one starts
    engine fails to load       → the run stops with that message
    N units in a row failed    → the engine looks broken (server gone, every unit crashes the
                                 worker): the run stops, resumable, instead of failing the rest
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engines.base import Completion
from evalcli.errors import EngineStartError
from evalcli.run.ledger import Death, Halt, Ledger, Policy, RecordFailure, Requeue, Retry
from evalcli.run.plan import Unit
from evalcli.run.scheduling import Scheduler
from evalcli.store import events as ev
from evalcli.store.results import ErrorKind, ResultRecord, failed_record, ok_record
from evalcli.store.rundir import EventLog
from ipc import pool
from ipc.messages import Completed, Failed, Generate, GenerateMany, Ready, WorkerSpec

REFRESH_S = 1.0  # the longest the loop sleeps without an event (dashboard, STOP file)
PREFETCH_BELOW_S = 0.05  # a worker whose last unit was faster gets the next one sent ahead
# Ctrl+C, and on Windows Ctrl+Break (SIGBREAK): first = finish in-flight units, second = now
CONSOLE_INTERRUPTS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGBREAK") if hasattr(signal, n))
STOP_SIGNALS = (*CONSOLE_INTERRUPTS, signal.SIGTERM)


def install_stop_handlers(handler) -> dict:
    """Point the stop signals at `handler`; returns the handlers to put back. A signal the
    process inherited as ignored stays ignored: a shell starts `evalcli run … &` (a script's
    background job) with SIGINT ignored so that a Ctrl+C meant for the foreground command
    does not reach it, and Python itself then never raises KeyboardInterrupt. Such a run
    stops with `evalcli stop` or SIGTERM. Off the main thread nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in STOP_SIGNALS:
        if sig in CONSOLE_INTERRUPTS and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        previous[sig] = signal.signal(sig, handler)
    return previous


@dataclass
class WorkerView:
    """What the dashboard shows of one worker."""

    index: int
    state: str = "starting"  # starting | idle | busy | restarting | stopped
    unit: str = ""
    done: int = 0
    restarts: int = 0
    pid: int | None = None


@dataclass
class _Slot:
    process: pool.WorkerProcess
    view: WorkerView
    queue: deque[Unit] = field(default_factory=deque)  # sent, unanswered; [0] is running
    started_at: float = 0.0  # when queue[0] started (the answer before it arrived)
    restart_at: float | None = None
    ready: bool = False
    variant: int = 0  # the engine variant (model) this worker's process loads
    timed_out: bool = False  # killed for its unit's timeout; the death is yet to be reaped
    retiring: bool = False  # it said it exits (a native fault): send it nothing more
    last_unit_s: float = float("inf")  # how long its last answered unit took

    @property
    def unit(self) -> Unit | None:
        """The unit the worker is running now (None when idle)."""
        return self.queue[0] if self.queue else None


@dataclass
class SupervisorSettings:
    engine: str
    options: dict  # validated builtins of the engine's Options
    workers: int
    unit_timeout_s: float = 600.0
    max_crashes_per_unit: int = 3
    max_engine_retries: int = 2
    max_consecutive_failures: int = 10  # units failed in a row before the run stops
    in_flight: int = 8  # fast units sent to one worker ahead of its answers (1 = one at a time)
    variant_options: list[dict] = field(default_factory=list)  # per engine variant; [] = [options]

    def options_for(self, variant: int) -> dict:
        return self.variant_options[variant] if self.variant_options else self.options


@dataclass
class Outcome:
    status: str  # "completed" | "stopped"
    engine_info: dict[str, str] = field(default_factory=dict)


class Supervisor:
    def __init__(self, *, settings: SupervisorSettings, units: Iterable[Unit],
                 make_request: Callable, on_result: Callable[[Unit, ResultRecord], None],
                 events: EventLog, log_path: Callable[[int], str],
                 stop_requested: Callable[[], bool | str] = lambda: False,
                 on_tick: Callable[[list[WorkerView], bool], None] = lambda views, stopping: None,
                 on_workers: Callable[[list[int]], None] = lambda pids: None,
                 after_batch: Callable[[], None] = lambda: None,
                 ) -> None:
        self.settings = settings
        self.scheduler = Scheduler(units)
        self.make_request = make_request
        self.on_result = on_result
        self.events = events
        self.stop_requested = stop_requested
        self.on_tick = on_tick
        self.on_workers = on_workers  # told the worker PIDs whenever they change
        self.after_batch = after_batch  # once per wake-up, after its results (batched writes)
        self.ledger = Ledger(Policy(
            engine=settings.engine, unit_timeout_s=settings.unit_timeout_s,
            max_crashes_per_unit=settings.max_crashes_per_unit,
            max_engine_retries=settings.max_engine_retries,
            max_consecutive_failures=settings.max_consecutive_failures))
        self._signals = 0
        self.signalled = ""  # the first stop signal's name ("SIGINT", "SIGTERM"), if any
        self._engine_info: dict[str, str] = {}
        self._log_path = log_path
        first = self.scheduler.first_variant()
        self.slots = [_Slot(pool.WorkerProcess(self._spec(i, first), log_path(i)), WorkerView(i),
                            variant=first)
                      for i in range(settings.workers)]

    def _spec(self, worker: int, variant: int) -> WorkerSpec:
        return WorkerSpec(engine=self.settings.engine, options=self.settings.options_for(variant),
                          worker_index=worker)

    # -- signals -------------------------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:
        self._signals += 1
        if not self.signalled:
            self.signalled = signal.Signals(signum).name
        if self._signals >= 2 and signum in CONSOLE_INTERRUPTS:
            raise KeyboardInterrupt

    # -- main loop -----------------------------------------------------------------------
    def run(self) -> Outcome:
        previous = install_stop_handlers(self._on_signal)
        try:
            for slot in self.slots:
                self._start(slot)
            return self._loop()
        except KeyboardInterrupt:
            self.events.emit(ev.StopNow(reason="second Ctrl+C"))
            for slot in self.slots:
                slot.process.kill()
            return Outcome("stopped", self._engine_info)
        finally:
            for slot in self.slots:
                code = slot.process.stop(grace=5.0)
                if code is not None:
                    self.events.emit(ev.WorkerExit(worker=slot.view.index,
                                                   how=pool.describe_exit(code)))
                slot.view.state = "stopped"
            self._report_workers()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self) -> Outcome:
        stopping = False
        while True:
            requested = None if stopping or self._signals else self.stop_requested()
            if not stopping and (self._signals or requested):
                stopping = True
                reason = "signal" if self._signals else \
                    requested if isinstance(requested, str) else "STOP file"
                self.events.emit(ev.StoppingRun(
                    reason=reason, in_flight=sum(len(s.queue) for s in self.slots)))
            if not stopping:
                self._dispatch()
            busy = [s for s in self.slots if s.queue]
            if not busy and (stopping or self.scheduler.remaining == 0):
                self.after_batch()
                self.on_tick([s.view for s in self.slots], stopping)
                return Outcome("stopped" if stopping and self.scheduler.remaining else "completed",
                               self._engine_info)
            now = time.monotonic()
            self._restart_due(now, stopping)
            live = [s.process for s in self.slots if s.process.process is not None]
            timeout = self._next_timeout(now)
            try:
                for process, kind in pool.wait(live, timeout):
                    slot = self.slots[process.index]
                    if kind == "message":
                        self._on_messages(slot)
                    elif slot.process.process is not None and not slot.process.alive:
                        self._on_death(slot, stopping)
            finally:  # what was recorded reaches the disk before anything can stop the run
                self.after_batch()
            self._enforce_timeouts()
            self.on_tick([s.view for s in self.slots], stopping)

    def _next_timeout(self, now: float) -> float:
        deadlines = [REFRESH_S]
        for slot in self.slots:
            if slot.restart_at is not None:
                deadlines.append(slot.restart_at - now)
            if slot.unit is not None and not slot.timed_out:
                deadlines.append(slot.started_at + self.settings.unit_timeout_s - now)
        return max(0.0, min(deadlines))

    def _dispatch(self) -> None:
        for slot in self.slots:  # first every idle worker gets one unit
            if not slot.queue:
                self._send(slot, 1)
        depth = max(1, self.settings.in_flight)
        for slot in self.slots:  # then fast workers are topped up (one frame), while work is
            remaining = self.scheduler.remaining  # plentiful enough to leave others theirs
            if (slot.queue and len(slot.queue) <= depth // 2
                    and slot.last_unit_s < PREFETCH_BELOW_S and remaining >= len(self.slots)):
                self._send(slot, min(depth - len(slot.queue), remaining // len(self.slots)))

    def _send(self, slot: _Slot, n: int) -> None:
        """Send this worker up to `n` next units of its model, in one frame."""
        if not slot.ready or slot.retiring or slot.process.process is None:
            return
        units: list[Unit] = []
        while len(units) < n:
            unit = self.scheduler.next_for(slot.view.index, slot.variant)
            if unit is None:
                break
            if unit.variant != slot.variant:
                self.scheduler.requeue(unit)  # it stays this worker's group: taken after
                if not slot.queue and not units:  # switch models once its queue is answered
                    self._switch(slot, unit.variant)
                break
            units.append(unit)
        if not units:
            return
        if not slot.queue:
            slot.started_at = time.monotonic()
            slot.view.state, slot.view.unit = "busy", units[0].custom_id
        slot.queue.extend(units)
        for unit in units:
            self.ledger.sent(unit.custom_id)
        requests = [self.make_request(unit) for unit in units]
        message = Generate(request=requests[0]) if len(requests) == 1 else \
            GenerateMany(requests=requests)
        if not slot.process.send(message):
            slot.process.kill()  # broken pipe: the death is handled via the sentinel

    # -- events --------------------------------------------------------------------------
    def _on_messages(self, slot: _Slot) -> None:
        """Every message waiting on this worker's pipe (a queue of answers, read in one go)."""
        while self._on_message(slot) and slot.process.process is not None \
                and slot.process.has_message():
            pass

    def _on_message(self, slot: _Slot) -> bool:
        """Handle one message; False when the pipe is broken (the death follows)."""
        try:
            message = slot.process.recv()
        except (EOFError, OSError):
            slot.process.kill()
            return False
        match message:
            case Ready(pid=pid, info=info):
                slot.ready = True
                self.ledger.ready(slot.view.index)
                slot.view.state, slot.view.pid = "idle", pid
                self._engine_info = self._engine_info or dict(info)
                self.events.emit(ev.WorkerReady(worker=slot.view.index, pid=pid,
                                                variant=slot.variant))
            case Completed(unit_id=unit_id, completion=completion):
                times = _wall_times(slot)
                unit = self._take_unit(slot, unit_id)
                if unit is not None:
                    self.on_result(unit, self._ok_record(unit, completion, slot, times))
                    slot.view.done += 1
                    self.ledger.completed(slot.view.index)
            case Failed(unit_id=None, error=error, kind=kind):
                self.events.emit(ev.EngineLoadFailed(worker=slot.view.index, error=error))
                hint = ""
                if len(self.slots) > 1:
                    hint = (f" (with {len(self.slots)} workers each loads its own engine: "
                            "if it ran out of memory, lower --workers)")
                raise EngineStartError(
                    f"the {self.settings.engine} engine could not start: {error}{hint}")
            case Failed(unit_id=unit_id, error=error, kind=kind, retryable=retryable,
                        worker_exits=exits):
                slot.retiring = slot.retiring or exits
                times = _wall_times(slot)
                unit = self._take_unit(slot, unit_id)
                if unit is None:
                    return True
                match self.ledger.engine_failed(unit.custom_id, error, kind, retryable):
                    case Retry(attempt=attempt):
                        self.events.emit(ev.Retry(unit=unit.custom_id, error=error,
                                                  attempt=attempt))
                        self.scheduler.requeue(unit)
                    case RecordFailure(error=error, kind=kind):
                        self._record_failure(unit, error, kind, slot, times)
        return True

    def _take_unit(self, slot: _Slot, unit_id: str) -> Unit | None:
        """The answered unit: the first in the worker's queue (it serves them in order); the
        next one's clock starts now."""
        unit = slot.unit
        if unit is None or unit.custom_id != unit_id:
            self.events.emit(ev.UnexpectedReply(worker=slot.view.index, unit=unit_id))
            return None
        slot.queue.popleft()
        now = time.monotonic()
        slot.last_unit_s, slot.started_at = now - slot.started_at, now
        following = slot.unit
        slot.view.state = "busy" if following else "idle"
        slot.view.unit = following.custom_id if following else ""
        return unit

    def _on_death(self, slot: _Slot, stopping: bool) -> None:
        code = slot.process.reap()
        self._report_workers()
        timed_out, slot.timed_out = slot.timed_out, False
        how = (f"killed: its unit ran past run.unit_timeout_s = "
               f"{self.settings.unit_timeout_s:g} s" if timed_out else pool.describe_exit(code))
        unit, queued = slot.unit, list(slot.queue)[1:]
        if slot.retiring:  # it exited on purpose after answering: nothing else was started
            unit, queued = None, list(slot.queue)
        times = _wall_times(slot)
        slot.queue.clear()
        for waiting in reversed(queued):  # sent but never started: back, in their order
            self.ledger.unsent(waiting.custom_id)
            self.scheduler.requeue(waiting)
        slot.view.state, slot.view.unit = "restarting", ""
        self.events.emit(ev.WorkerDied(worker=slot.view.index, how=how,
                                       unit=unit.custom_id if unit else None))
        death: Death = self.ledger.died(
            slot.view.index, unit.custom_id if unit else None, was_ready=slot.ready,
            timed_out=timed_out, how=how, stopping=stopping, log_path=str(slot.process.log_path))
        if death.halt is not None:
            raise EngineStartError(death.halt.message)
        slot.ready = False
        if unit is not None:
            match death.unit:
                case RecordFailure(error=error, kind=kind):
                    self._record_failure(unit, error, kind, slot, times)
                case Requeue():
                    self.scheduler.requeue(unit)
        if death.restart_after_s is None:
            slot.view.state = "stopped"
            return
        slot.view.restarts += 1
        slot.restart_at = time.monotonic() + death.restart_after_s

    def _record_failure(self, unit: Unit, error: str, kind: ErrorKind, slot: _Slot,
                        times: dict[str, float]) -> None:
        self.events.emit(ev.UnitFailed(unit=unit.custom_id, error=error, kind=kind))
        self.on_result(unit, self._failed_record(unit, error, kind, slot, times))
        halt: Halt | None = self.ledger.failure_recorded(error)
        if halt is not None:
            self.events.emit(ev.Halted(failed_in_a_row=self.ledger.failure_streak,
                                       last_error=error))
            raise EngineStartError(halt.message)

    def _restart_due(self, now: float, stopping: bool) -> None:
        for slot in self.slots:
            if slot.restart_at is not None and now >= slot.restart_at and not stopping:
                slot.restart_at = None
                self.events.emit(ev.WorkerRestart(worker=slot.view.index,
                                                  restarts=slot.view.restarts))
                self._start(slot)

    def _start(self, slot: _Slot) -> None:
        slot.retiring = False
        slot.process.start()
        self._report_workers()
        slot.view.state, slot.view.pid = "starting", slot.process.pid
        self.events.emit(ev.WorkerStart(worker=slot.view.index, pid=slot.process.pid,
                                        variant=slot.variant))

    def _switch(self, slot: _Slot, variant: int) -> None:
        """Restart an idle worker with another model (engine variant)."""
        code = slot.process.stop(grace=5.0)
        self.events.emit(ev.WorkerSwitch(worker=slot.view.index, variant_from=slot.variant,
                                         variant_to=variant, how=pool.describe_exit(code)))
        slot.variant, slot.ready = variant, False
        slot.process = pool.WorkerProcess(self._spec(slot.view.index, variant),
                                          self._log_path(slot.view.index))
        self._start(slot)

    def _report_workers(self) -> None:
        self.on_workers([s.process.pid for s in self.slots if s.process.pid is not None])

    def _enforce_timeouts(self) -> None:
        """Kill a worker whose unit ran past its timeout: once (its death is handled by the
        wait, as a timeout), one event."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.unit is not None and not slot.timed_out \
                    and now - slot.started_at > self.settings.unit_timeout_s:
                slot.timed_out = True
                self.events.emit(ev.UnitTimeout(worker=slot.view.index, unit=slot.unit.custom_id,
                                                after_s=self.settings.unit_timeout_s))
                slot.process.kill()

    # -- records -------------------------------------------------------------------------
    def _ok_record(self, unit: Unit, c: Completion, slot: _Slot,
                   times: dict[str, float]) -> ResultRecord:
        return ok_record(unit.custom_id, c, worker=slot.view.index,
                         attempts=self.ledger.attempts(unit.custom_id), **times)

    def _failed_record(self, unit: Unit, error: str, kind: ErrorKind, slot: _Slot,
                       times: dict[str, float]) -> ResultRecord:
        return failed_record(unit.custom_id, error, kind, worker=slot.view.index,
                             attempts=self.ledger.attempts(unit.custom_id), **times)


def _wall_times(slot: _Slot) -> dict[str, float]:
    """When the running unit started (its dispatch, or the answer before it) and now, as
    wall-clock epoch seconds (for telemetry)."""
    ended = time.time()
    return {"started_at": ended - (time.monotonic() - slot.started_at), "ended_at": ended}
