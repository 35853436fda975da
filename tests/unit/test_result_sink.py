"""The generate stage's result sink (run/result_sink.py) without a process: what each answer
changes on disk and in run.json's counts, and when the supervisor is told to stop."""

from __future__ import annotations

import json

import pytest

from engines.base import Completion
from evalcli.run import result_sink
from evalcli.run.dashboard import Progress, TrialProgress
from evalcli.run.plan import Unit
from evalcli.run.result_sink import ResultSink
from evalcli.store.manifest import Manifest, TrialState, read_manifest, write_manifest
from evalcli.store.results import StatusIndex, failed_record, ok_record
from evalcli.store.rundir import EventLog, RunDir

SLUG = "t1"


def _unit(n: int) -> Unit:
    return Unit(custom_id=f"u{n}", trial=SLUG, item_index=n, condition="control",
                sample_index=0)


def _ok(n: int):
    return ok_record(f"u{n}", Completion(text="a", finish_reason="stop", prompt_tokens=3,
                                         completion_tokens=2, latency_ms=1.0),
                     worker=0, attempts=1)


@pytest.fixture
def sink_parts(tmp_path):
    rd = RunDir(tmp_path, "r")
    rd.root.mkdir(parents=True)
    manifest = Manifest(run_id="r", created_at="2026-12-07T00:00:00Z",
                        trials={SLUG: TrialState(temperature=0.0, planned=3, pending=3)})
    write_manifest(rd.manifest, manifest)
    progress = Progress("r", {SLUG: TrialProgress(planned=3)})
    events = EventLog(rd.events)
    yield rd, manifest, progress, events
    events.close()


def _sink(parts, **kw) -> ResultSink:
    rd, manifest, progress, events = parts
    return ResultSink(rd=rd, manifest=manifest, trials=[SLUG], finished={SLUG: StatusIndex()},
                      progress=progress, events=events, **kw)


def _lines(rd: RunDir) -> list[dict]:
    path = rd.results(SLUG)
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_pooled_answers_reach_the_file_once_per_wake_up(sink_parts, monkeypatch):
    rd, manifest, progress, _ = sink_parts
    monkeypatch.setattr(result_sink, "COUNTS_EVERY_S", 1e9)  # no timed write in this test
    sink = _sink(sink_parts, pooled=True)
    sink._last_write = 1e18
    sink.on_result(_unit(0), _ok(0))
    sink.on_result(_unit(1), failed_record("u1", "boom", "engine", worker=0, attempts=1))
    assert _lines(rd) == []  # buffered until the supervisor's wake-up ends
    sink.after_batch()
    assert [r["custom_id"] for r in _lines(rd)] == ["u0", "u1"]
    state = manifest.trials[SLUG]
    assert (state.done, state.failed, state.pending) == (1, 1, 1)
    assert (progress.trials[SLUG].done, progress.trials[SLUG].failed, progress.tokens) == (1, 1, 5)
    sink.close()


def test_a_retried_failure_moves_from_failed_to_done_not_from_pending(sink_parts):
    rd, manifest, _, _ = sink_parts
    sink = _sink(sink_parts, pooled=False)
    sink.on_result(_unit(0), failed_record("u0", "boom", "engine", worker=0, attempts=1))
    sink.finished[SLUG].set("u0", "failed")  # as a resume finds it on disk
    sink.on_result(_unit(0), _ok(0))
    state = manifest.trials[SLUG]
    assert (state.done, state.failed, state.pending) == (1, 0, 2)
    sink.close()


def test_run_json_counts_are_written_after_the_results_they_count(sink_parts):
    rd, manifest, _, _ = sink_parts
    sink = _sink(sink_parts, pooled=True)
    sink.on_result(_unit(0), _ok(0))  # the first answer: a timed write is due
    on_disk = read_manifest(rd.manifest).trials[SLUG]
    assert on_disk.done == 1 and len(_lines(rd)) == 1  # never a count ahead of the file
    sink.close()


def test_should_stop_on_the_stop_file_checked_at_most_every_interval(sink_parts, monkeypatch):
    rd = sink_parts[0]
    clock = [100.0]
    monkeypatch.setattr(result_sink.time, "monotonic", lambda: clock[0])
    sink = _sink(sink_parts, pooled=True)
    assert sink.should_stop() is False
    rd.stop_file.write_text("")
    clock[0] += result_sink.STOP_CHECK_S / 2
    assert sink.should_stop() is False  # not looked for again yet
    clock[0] += result_sink.STOP_CHECK_S
    assert sink.should_stop() is True
    sink.close()


def test_a_deciding_look_stops_handing_out_once(sink_parts):
    rd = sink_parts[0]

    class Look:
        decision, direction, items, of_items = "difference", "treatment better", 20, 40

        def record(self):
            return {"items": 20}

    class Monitor:
        last = None

        def record(self, custom_id, status, text):
            self.seen = custom_id

        def look(self):
            self.last = self.last or Look()
            return self.last

    sink = _sink(sink_parts, pooled=False, monitor=Monitor(), progress_line=lambda look: "L")
    sink.on_result(_unit(0), _ok(0))
    sink.on_result(_unit(1), _ok(1))
    assert sink.should_stop() == "verdict" and len(sink.decided) == 1
    sink.close()
    events = [json.loads(x)["event"] for x in rd.events.read_text().splitlines()]
    assert events == ["sequential_look", "verdict"]


def test_past_the_verdict_nothing_stops(sink_parts):
    class Monitor:
        last = None

        def record(self, *a):
            pass

        def look(self):
            look = type("L", (), {"decision": "difference", "direction": "x", "items": 1,
                                  "of_items": 1, "record": lambda self: {}})()
            self.last = look
            return look

    sink = _sink(sink_parts, pooled=False, monitor=Monitor(), past_verdict=True)
    sink.on_result(_unit(0), _ok(0))
    assert sink.decided == [] and sink.should_stop() is False
    sink.close()
