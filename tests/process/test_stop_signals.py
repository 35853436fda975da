"""SIGTERM is Ctrl+C everywhere (issue 26): a SIGTERM while a later stage runs — delivered at
a chosen write by the test hook in evalcli/store/fsutil.py — ends the run with exit 130, one
line, run.json `stopped` and the interrupted stage `stopped` (never `failed`), and `resume`
finishes it. A late `evalcli stop` (after generate) stops before the next stage and leaves
no STOP file behind. A stage's error never reads "stopped: stopped: …"."""

from __future__ import annotations

import json
import sys

import pytest

from evalcli.store.fsutil import EVENT_ENV
from evalcli.store.manifest import new_manifest
from tests.helpers import evalcli, events, popen_evalcli, result_lines, wait_until, write_profile

STAGE_OF = {"predictions.csv": "parse", "per_item_scores.csv": "score", "report.md": "report"}


def _start(tmp_path, event: str):
    profile = write_profile(tmp_path / "p.toml", workers=1)
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir", runs,
                     "--run-id", "x", env={EVENT_ENV: event})
    return runs, result


def _finishes(runs) -> None:
    resumed = evalcli("resume", "x", "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    manifest = json.loads((runs / "x" / "run.json").read_text())
    assert manifest["status"] == "completed"
    assert {s["status"] for s in manifest["stages"].values()} == {"done"}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM from raise_signal is POSIX here")
@pytest.mark.parametrize("at", sorted(STAGE_OF))
def test_sigterm_during_a_later_stage_is_a_clean_stop(tmp_path, at):
    runs, result = _start(tmp_path, f"{at}:sigterm")
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SIGTERM" in lines[0] and "evalcli resume x" in lines[0], lines
    manifest = json.loads((runs / "x" / "run.json").read_text())
    assert manifest["status"] == "stopped"
    stages = manifest["stages"]
    assert stages["generate"]["status"] == "done"
    assert stages[STAGE_OF[at]]["status"] == "stopped"
    assert stages[STAGE_OF[at]]["error"] == "interrupted (SIGTERM)"
    assert "failed" not in {s["status"] for s in stages.values()}
    shown = evalcli("show", "x", "--runs-dir", runs)
    assert "stopped: stopped" not in shown.stdout
    _finishes(runs)


def test_a_late_stop_stops_before_the_next_stage_and_leaves_no_stop_file(tmp_path):
    runs, result = _start(tmp_path, "predictions.csv:stop")  # written while parse runs
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    manifest = json.loads((runs / "x" / "run.json").read_text())
    assert manifest["status"] == "stopped"
    assert manifest["stages"]["parse"]["status"] == "done"
    assert manifest["stages"]["score"]["status"] == "pending"
    assert not (runs / "x" / "STOP").exists()
    shown = evalcli("show", "x", "--runs-dir", runs)
    assert "stop requested" not in shown.stdout.lower(), shown.stdout
    _finishes(runs)


def test_a_stage_error_has_one_stopped_prefix():
    from evalcli.run.generate import _mark

    manifest = new_manifest("x")
    manifest.start_stage("score")
    _mark(manifest, "stopped", "stopped: cannot write a.csv: disk full - free some space")
    assert manifest.error == "stopped: cannot write a.csv: disk full - free some space"
    assert manifest.stages["score"].status == "stopped"
    assert manifest.stages["score"].error == "cannot write a.csv: disk full - free some space"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM from raise_signal is POSIX here")
@pytest.mark.parametrize("at", ["run.json", "items.jsonl"])
def test_sigterm_during_start_up_prints_one_line(tmp_path, at):
    """Before generate, a signal is a KeyboardInterrupt that Typer would turn into a silent
    exit 130: the user still gets the one line, and the id is free or resumable."""
    runs, result = _start(tmp_path, f"{at}:sigterm")
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], result.stderr
    if (runs / "x" / "run.json").exists():
        _finishes(runs)
    else:
        again = evalcli("run", "--profile", tmp_path / "p.toml", "--limit-items", "1",
                        "--runs-dir", runs, "--run-id", "x")
        assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGTERM")
def test_a_signal_while_the_last_units_are_in_flight_still_stops_the_run(tmp_path):
    """The supervisor lets in-flight units finish; when they were the last ones, generate
    completes - and the signal must still stop the run before the later stages."""
    import os
    import signal

    gate = tmp_path / "gate"
    profile = write_profile(tmp_path / "p.toml", workers=2,
                            options={"gate_file": str(gate), "gate_after": 1})
    runs, root = tmp_path / "runs", tmp_path / "runs" / "x"
    proc = popen_evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir", runs,
                         "--run-id", "x")
    try:  # 4 units: each worker answered one and holds the last one it was given
        wait_until(lambda: result_lines(root) >= 2, "2 results (both workers at the gate)")
        os.kill(proc.pid, signal.SIGTERM)
        wait_until(lambda: any(e["event"] == "stopping" for e in events(root)), "stopping")
    finally:
        gate.touch()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    assert "SIGTERM" in err and "evalcli resume x" in err, err
    manifest = json.loads((root / "run.json").read_text())
    assert manifest["status"] == "stopped"
    assert manifest["stages"]["parse"]["status"] == "pending"
    assert result_lines(root) == 4
    _finishes(runs)


@pytest.mark.skipif(sys.platform == "win32", reason="inherited SIG_IGN is a POSIX shell's doing")
def test_a_run_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path):
    """`evalcli run … &` in a script starts with SIGINT ignored, so that a Ctrl+C meant for the
    foreground command does not reach it: the run keeps going and completes (a stop is
    `evalcli stop` or SIGTERM)."""
    import os
    import signal
    import subprocess

    gate = tmp_path / "gate"
    profile = write_profile(tmp_path / "p.toml", workers=1,
                            options={"gate_file": str(gate), "gate_after": 1})
    runs, root = tmp_path / "runs", tmp_path / "runs" / "x"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalcli", "run", "--profile", str(profile), "--limit-items",
         "2", "--runs-dir", str(runs), "--run-id", "x"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:  # the worker answered one unit and waits at the gate: the supervisor is running
        wait_until(lambda: result_lines(root) >= 1, "1 result (the worker at the gate)")
        os.kill(proc.pid, signal.SIGINT)
        os.kill(proc.pid, signal.SIGINT)  # a second Ctrl+C would mean "stop now"
    finally:
        gate.touch()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    manifest = json.loads((root / "run.json").read_text())
    assert manifest["status"] == "completed"
    assert result_lines(root) == 4
    assert not any(e["event"] == "stopping" for e in events(root))
