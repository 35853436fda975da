"""Fault injection around resume: after each fault the final predictions hold exactly the
planned custom_ids, each once, with the texts of an uninterrupted run (mock, temperature 0).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    evalcli,
    popen_evalcli,
    read_csv,
    result_lines,
    trial_dirs,
    wait_until,
    write_profile,
)
from tests.helpers import events as run_events

LIMIT = "6"
UNITS = 12


def _texts(root: Path) -> dict[str, str]:
    [trial] = trial_dirs(root)
    rows = read_csv(trial / "predictions.csv")
    ids = [r["custom_id"] for r in rows]
    assert len(ids) == UNITS and len(set(ids)) == UNITS
    assert all(r["status"] == "ok" for r in rows)
    return {r["custom_id"]: r["response_text"] for r in rows}


@pytest.fixture
def clean_texts(tmp_path):
    profile = write_profile(tmp_path / "clean.toml", workers=2)
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                     "--runs-dir", tmp_path / "clean-runs", "--run-id", "clean")
    assert result.returncode == 0, result.stderr
    return _texts(tmp_path / "clean-runs" / "clean")


def _gated_profile(tmp_path: Path, gate: Path, after: int = 2) -> Path:
    """Each worker answers `after` units, then holds its next one until `gate` exists."""
    return write_profile(tmp_path / "gated.toml", workers=2,
                         options={"gate_file": str(gate), "gate_after": after})


def _stopping(root: Path) -> bool:
    return any(e["event"] == "stopping" for e in run_events(root))


def test_kill_9_supervisor_then_resume(tmp_path, clean_texts):
    if sys.platform == "win32":
        pytest.skip("uses SIGKILL")
    root = tmp_path / "runs" / "k"
    gate = tmp_path / "gate"
    proc = popen_evalcli("run", "--profile", _gated_profile(tmp_path, gate), "--limit-items",
                         LIMIT, "--runs-dir", tmp_path / "runs", "--run-id", "k")
    try:
        wait_until(lambda: result_lines(root) >= 4, "4 results (both workers at the gate)")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        gate.touch()  # the orphaned workers finish their unit, find the pipe closed and exit
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    done_before = result_lines(root)
    assert done_before == 4
    shown = evalcli("show", "k", "--runs-dir", tmp_path / "runs", "--json")
    assert json.loads(shown.stdout)["status"] == "interrupted"
    result = evalcli("resume", "k", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert "took over the lock" in result.stdout
    assert _texts(root) == clean_texts
    records = [json.loads(line) for line in
               next((root / "trials").glob("*/results.jsonl")).read_text().splitlines()]
    assert len({r["custom_id"] for r in records}) == len(records) == UNITS  # nothing done twice


@pytest.mark.parametrize("how", ["sigint", "sigint-twice", "sigterm", "stop"])
def test_interrupt_exits_130_then_resume(tmp_path, clean_texts, how):
    if how.startswith("sig") and sys.platform == "win32":
        pytest.skip("POSIX signal delivery to a child; the STOP file covers Windows")
    root = tmp_path / "runs" / "s"
    gate = tmp_path / "gate"
    proc = popen_evalcli("run", "--profile", _gated_profile(tmp_path, gate, after=1),
                         "--limit-items", LIMIT, "--runs-dir", tmp_path / "runs", "--run-id", "s")
    try:
        wait_until(lambda: result_lines(root) >= 2, "2 results (both workers at the gate)")
        if how in ("sigint", "sigint-twice"):
            proc.send_signal(signal.SIGINT)
        elif how == "sigterm":  # like the first Ctrl+C
            proc.send_signal(signal.SIGTERM)
        else:
            (root / "STOP").write_text("stop", encoding="utf-8")
        wait_until(lambda: _stopping(root), "the stop request to be acted on")
        if how == "sigint-twice":  # the second Ctrl+C stops now: in-flight units are abandoned
            proc.send_signal(signal.SIGINT)
        else:  # the units in flight finish, then the run stops
            gate.touch()
        out, err = proc.communicate(timeout=120)
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "resume with: evalcli resume s" in err
    manifest = json.loads((root / "run.json").read_text())
    assert manifest["status"] == "stopped"
    events = (root / "events.jsonl").read_text()
    assert ('"stop_now"' in events) == (how == "sigint-twice")
    [trial] = manifest["trials"].values()
    assert trial["done"] == result_lines(root)  # finished work is never shown pending
    # a graceful stop finishes exactly the units already sent to workers (fast units are sent
    # ahead: 1 to in_flight per worker); the second Ctrl+C abandons them
    [stopping] = [e for e in run_events(root) if e["event"] == "stopping"]
    assert 2 <= stopping["in_flight"] <= UNITS - 2
    assert result_lines(root) == (2 if how == "sigint-twice" else 2 + stopping["in_flight"])
    result = evalcli("resume", "s", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert not (root / "STOP").exists()
    assert _texts(root) == clean_texts


def test_torn_last_line_is_redone_alone(tmp_path, clean_texts):
    profile = write_profile(tmp_path / "p.toml", workers=2)
    runs = tmp_path / "runs"
    assert evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir", runs,
                   "--run-id", "t").returncode == 0
    results = next((runs / "t" / "trials").glob("*/results.jsonl"))
    lines = results.read_bytes().splitlines(keepends=True)
    torn_id = json.loads(lines[-1])["custom_id"]
    results.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])  # a write cut short
    result = evalcli("resume", "t", "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    assert f"1 of {UNITS} units to run" in result.stdout
    after = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(after) == UNITS and after[-1]["custom_id"] == torn_id
    assert _texts(runs / "t") == clean_texts


def test_second_concurrent_resume_is_refused(tmp_path):
    runs = tmp_path / "runs"
    root = runs / "c"
    gate = tmp_path / "gate"
    held = write_profile(tmp_path / "held.toml", workers=1,
                         options={"gate_file": str(gate), "gate_after": 1})
    proc = popen_evalcli("run", "--profile", held, "--limit-items", LIMIT,
                         "--runs-dir", runs, "--run-id", "c")
    try:
        wait_until(lambda: result_lines(root) >= 1, "the first result (worker at the gate)")
        # the holder as the lock file names it: on Windows a venv's python.exe is a launcher,
        # so Popen.pid need not be the interpreter that holds the lock
        holder = int((root / "run.lock").read_bytes().decode("ascii").splitlines()[0])
        second = evalcli("resume", "c", "--runs-dir", runs)
        assert second.returncode == 4
        assert f"in use by process {holder}" in second.stderr
        assert "Traceback" not in second.stderr
        gate.touch()
        proc.communicate(timeout=120)
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0


def test_resume_refuses_changed_prompts_unless_forced(tmp_path):
    from importlib import resources

    prompts = tmp_path / "prompts.toml"
    prompts.write_bytes(resources.files("evalcli.inputs").joinpath("data/prompts/default.toml")
                        .read_bytes())
    profile = write_profile(tmp_path / "p.toml", workers=1)
    profile.write_text(profile.read_text().replace('set = "default"', 'set = "prompts.toml"'))
    runs = tmp_path / "runs"
    first = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir", runs,
                    "--run-id", "p")
    assert first.returncode == 0, first.stderr
    prompts.write_text(prompts.read_text() + "\n# edited\n")
    refused = evalcli("resume", "p", "--runs-dir", runs)
    assert refused.returncode == 4 and "prompts:" in refused.stderr and "--force" in refused.stderr
    forced = evalcli("resume", "p", "--runs-dir", runs, "--force")
    assert forced.returncode == 0, forced.stderr
    events = (runs / "p" / "events.jsonl").read_text()
    assert "resume_forced" in events


def test_bad_run_ids_are_rejected(tmp_path):
    for bad in ("../x", "a/b", ".."):
        result = evalcli("resume", bad, "--runs-dir", tmp_path)
        assert result.returncode == 4 and "run id" in result.stderr
        assert "Traceback" not in result.stderr


def test_later_stages_are_keyed_on_content_and_selectable(tmp_path):
    runs = tmp_path / "runs"
    first = evalcli("run", "--profile", write_profile(tmp_path / "p.toml", workers=1),
                    "--limit-items", "3", "--runs-dir", runs, "--run-id", "s", "--to", "generate")
    assert first.returncode == 0, first.stderr
    assert not (runs / "s" / "report.md").exists()
    missing = evalcli("resume", "s", "--runs-dir", runs, "--only", "report")
    assert missing.returncode == 4 and "needs trials/" in missing.stderr
    assert evalcli("resume", "s", "--runs-dir", runs).returncode == 0
    stages = json.loads((runs / "s" / "run.json").read_text())["stages"]
    again = evalcli("resume", "s", "--runs-dir", runs, "--from", "parse")
    assert again.returncode == 0, again.stderr
    after = json.loads((runs / "s" / "run.json").read_text())["stages"]
    assert after == stages  # same inputs: nothing re-ran
    (runs / "s" / "report.md").unlink()
    assert evalcli("resume", "s", "--runs-dir", runs, "--only", "report").returncode == 0
    assert (runs / "s" / "report.md").exists()
    bad = evalcli("resume", "s", "--runs-dir", runs, "--only", "nonsense")
    assert bad.returncode == 2 and "not a stage" in bad.stderr
