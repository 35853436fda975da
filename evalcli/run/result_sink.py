"""Where the generate stage's answers go: one object instead of closures over mutable cells.

    Supervisor / batch driver ──on_result(unit, record)──► ResultSink
        the token counts the engine did not report, counted now (run/token_counts.py)
        results.jsonl of the unit's trial (flushed once per supervisor wake-up: after_batch)
        the answer store (reuse on), after its results line
        run.json's per-trial counts (written at most once a second, never ahead of the
            results on disk)
        the dashboard's progress
        a sequential run's monitor: a look that decides ends handing out (should_stop)

`should_stop()` is the supervisor's graceful stop: "verdict" once the monitor decided, else
the STOP file (looked for at most every STOP_CHECK_S: a stat per wake-up costs a fast pool
its speed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from evalcli.run.dashboard import Progress
from evalcli.run.plan import Unit
from evalcli.run.token_counts import UnitTokens
from evalcli.store import events as ev
from evalcli.store.manifest import Manifest, write_manifest
from evalcli.store.results import ResultRecord, ResultsWriter, StatusIndex
from evalcli.store.rundir import EventLog, RunDir

STOP_CHECK_S = 0.2  # how often the STOP file is looked for while units run
COUNTS_EVERY_S = 1.0  # run.json's counts lag finished work by at most this


class ResultSink:
    def __init__(self, *, rd: RunDir, manifest: Manifest, trials: list[str],
                 finished: dict[str, StatusIndex], progress: Progress, events: EventLog,
                 pooled: bool, reuse: Any = None, monitor: Any = None,
                 past_verdict: bool = False,
                 progress_line: Callable[[Any], str] = lambda look: "",
                 tokens: UnitTokens | None = None) -> None:
        self.rd, self.manifest, self.finished = rd, manifest, finished
        self.progress, self.events = progress, events
        self.pooled = pooled  # the supervisor calls after_batch(); a batch engine does not
        self.reuse, self.monitor = reuse, monitor
        self.past_verdict = past_verdict
        self.progress_line = progress_line
        self.tokens = tokens  # None: records are written with the counts they carry
        self.decided: list[Any] = []  # the look that reached a verdict, once it has
        self.writers = {slug: ResultsWriter(rd.results(slug)) for slug in trials}
        self._unflushed: set[str] = set()
        self._last_write = 0.0
        self._stop_checked_at = 0.0
        self._stop_file = False

    def on_result(self, unit: Unit, record: ResultRecord) -> None:
        if self.tokens is not None:
            record = self.tokens.fill(unit, record)
        self.writers[unit.trial].append(record, flush=not self.pooled)
        if self.pooled:
            self._unflushed.add(unit.trial)
        if self.reuse is not None:
            self.reuse.keep(unit, record)
        previous = self.finished[unit.trial].get(unit.custom_id)
        if self.monitor is not None or previous is not None:
            # a sequential run recounts from these at its verdict; a fixed-n run keeps no
            # entry per new unit (the counts below are kept as it goes)
            self.finished[unit.trial].set(unit.custom_id, record.status)
        state = self.manifest.trials[unit.trial]
        if previous == "failed":
            state.failed -= 1
        else:
            state.pending -= 1
        if record.status == "ok":
            state.done += 1
        else:
            state.failed += 1
        ok = record.status == "ok"  # a failed unit's counted prompt is no throughput
        self.progress.record(unit.trial, ok, max(record.prompt_tokens, 0)
                             + max(record.completion_tokens, 0) if ok else 0)
        if self.monitor is not None and not self.decided:
            self._watch(unit, record)
        now = time.monotonic()
        if now - self._last_write >= COUNTS_EVERY_S:
            self._last_write = now
            self.after_batch()  # never a count in run.json ahead of the results on disk
            write_manifest(self.rd.manifest, self.manifest)

    def _watch(self, unit: Unit, record: ResultRecord) -> None:
        before = self.monitor.last
        self.monitor.record(unit.custom_id, record.status, record.text)
        look = self.monitor.look()
        if look is None or look is before:
            return
        self.progress.sequential = self.progress_line(look)
        self.events.emit(ev.SequentialLook(look=look.record()))
        if look.decision and not self.past_verdict:
            self.decided.append(look)
            self.events.emit(ev.VerdictReached(decision=look.decision, direction=look.direction,
                                               items=look.items, of_items=look.of_items))

    def after_batch(self) -> None:
        """The supervisor read every answer of one wake-up: one write per results file."""
        while self._unflushed:
            self.writers[self._unflushed.pop()].flush()
        if self.reuse is not None:  # the answers go to the store after their results lines
            self.reuse.flush()

    def should_stop(self) -> bool | str:
        if self.decided:
            return "verdict"
        now = time.monotonic()
        if now - self._stop_checked_at >= STOP_CHECK_S:
            self._stop_checked_at, self._stop_file = now, self.rd.stop_requested()
        return self._stop_file

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        if self.reuse is not None:
            self.reuse.flush()
