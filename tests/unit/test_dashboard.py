"""The dashboard is a pure render of counts and worker views; plain mode logs lines."""

from __future__ import annotations

import io

from rich.console import Console

from evalcli.run.dashboard import PlainLog, Progress, TrialProgress, render
from evalcli.run.supervisor import WorkerView


def _progress() -> Progress:
    progress = Progress("r1", {"trial-a": TrialProgress(planned=4), "trial-b": TrialProgress(2)})
    progress.record("trial-a", True, 120)
    progress.record("trial-a", False, 0)
    return progress


def test_render_shows_workers_trials_and_rates():
    views = [WorkerView(0, state="busy", unit="sample|ob-001|control|0.0|0|open", done=3,
                        restarts=1, pid=4242), WorkerView(1, state="restarting")]
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(render(_progress(), views, True))
    text = out.getvalue()
    for needle in ("evalcli run r1", "units/s", "tokens/s", "stopping", "4242", "busy",
                   "sample|ob-001|control|0.0|0|open", "restarting", "trial-a", "1 / 4",
                   "trial-b", "0 / 2", "ETA"):
        assert needle in text, needle


def test_plain_log_prints_progress_lines_not_a_live_view():
    out = io.StringIO()
    log = PlainLog(_progress(), Console(file=out, width=200, color_system=None))
    log.update([WorkerView(0, state="idle")], stopping=False)
    log.update([WorkerView(0, state="idle")], stopping=False)  # throttled: no second line
    log.update([WorkerView(0, state="idle")], stopping=True)  # a state change: a new line
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("[progress] trial-a: 2/4 (1 failed)")
    assert lines[1].endswith("stopping")


def test_the_live_view_ends_on_the_final_counts_not_the_last_throttled_frame():
    from evalcli.run.dashboard import LiveDashboard

    out = io.StringIO()
    progress = Progress("r1", {"t": TrialProgress(planned=3)})
    views = [WorkerView(0, state="busy")]
    with LiveDashboard(progress, Console(file=out, width=200, color_system=None,
                                         force_terminal=True)) as live:
        progress.record("t", True, 10)
        live.update(views, stopping=False)  # drawn: 1 / 3
        progress.record("t", True, 10)
        progress.record("t", True, 10)
        live.update([WorkerView(0, state="idle")], stopping=False)  # throttled: not drawn
    text = out.getvalue()
    assert "1 / 3" in text and text.rstrip().count("3 / 3") >= 1
    assert text.rfind("3 / 3") > text.rfind("1 / 3")
