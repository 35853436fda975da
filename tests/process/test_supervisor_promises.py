"""The supervisor's documented limits, through the real CLI on the mock engine:

    EngineError retryable   → the unit is requeued, tried up to 1 + max_engine_retries times
    units failed in a row   → the run stops after max_consecutive_failures (resumable)
    worker dies while starting, MAX_BOOT_FAILURES times in a row → the run ends, one line
and resume runs the failed units again (docs/cli.md), with the counts right.
"""

from __future__ import annotations

import json
from pathlib import Path

from evalcli.run.ledger import MAX_BOOT_FAILURES
from tests.helpers import evalcli, events, read_csv, trial_dirs, write_profile

LIMIT = "6"  # 12 units
UNITS = 12


def _first_unit(tmp_path: Path) -> str:
    """The custom id of one planned unit, from a clean dry run."""
    profile = write_profile(tmp_path / "probe.toml", workers=1)
    assert evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                   tmp_path / "probe", "--run-id", "p").returncode == 0
    [trial] = trial_dirs(tmp_path / "probe" / "p")
    return read_csv(trial / "predictions.csv")[0]["custom_id"]


def _rows(root: Path) -> list[dict]:
    [trial] = trial_dirs(root)
    return read_csv(trial / "predictions.csv")


def test_retryable_error_is_requeued_then_recorded_failed(tmp_path):
    unit = _first_unit(tmp_path)
    profile = write_profile(tmp_path / "p.toml", workers=2, options={
        "fail_on": [unit], "fail_retryable": True}, run={"max_engine_retries": 2})
    root = tmp_path / "runs" / "r"
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                     tmp_path / "runs", "--run-id", "r")
    assert result.returncode == 5, result.stderr  # finished, with a failed unit
    retries = [e for e in events(root) if e["event"] == "retry"]
    assert [e["attempt"] for e in retries] == [1, 2] and {e["unit"] for e in retries} == {unit}
    rows = {r["custom_id"]: r for r in _rows(root)}
    assert len(rows) == UNITS and rows[unit]["status"] == "failed"
    assert int(rows[unit]["attempts"]) == 3
    assert all(r["status"] == "ok" for cid, r in rows.items() if cid != unit)


def test_not_retryable_error_is_not_requeued(tmp_path):
    unit = _first_unit(tmp_path)
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"fail_on": [unit]},
                            run={"max_engine_retries": 2})
    root = tmp_path / "runs" / "n"
    assert evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                   tmp_path / "runs", "--run-id", "n").returncode == 5  # a failed unit
    assert not [e for e in events(root) if e["event"] == "retry"]
    rows = {r["custom_id"]: r for r in _rows(root)}
    assert rows[unit]["status"] == "failed" and int(rows[unit]["attempts"]) == 1


def test_too_many_failures_in_a_row_stop_the_run_and_resume_finishes_it(tmp_path):
    heal = tmp_path / "heal"
    profile = write_profile(tmp_path / "p.toml", workers=1, options={
        "fail_on": ["|"], "heal_file": str(heal)}, run={"max_consecutive_failures": 3})
    root = tmp_path / "runs" / "h"
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                     tmp_path / "runs", "--run-id", "h")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "stopped after 3 units in a row failed" in result.stderr
    assert "Traceback" not in result.stderr
    halted = [e for e in events(root) if e["event"] == "halted"]
    assert len(halted) == 1 and halted[0]["failed_in_a_row"] == 3
    assert len([e for e in events(root) if e["event"] == "unit_failed"]) == 3
    # the failure goes away: resume runs the 3 failed units again and the 9 never run
    heal.touch()
    again = evalcli("resume", "h", "--runs-dir", tmp_path / "runs")
    assert again.returncode == 0, again.stderr
    assert f"{UNITS} of {UNITS} units to run" in again.stdout
    rows = _rows(root)
    assert len(rows) == UNITS and all(r["status"] == "ok" for r in rows)


def test_resume_retries_failed_units_with_counts_right(tmp_path):
    unit = _first_unit(tmp_path)
    heal = tmp_path / "heal"
    profile = write_profile(tmp_path / "p.toml", workers=2, options={
        "fail_on": [unit], "heal_file": str(heal)})
    root = tmp_path / "runs" / "f"
    assert evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                   tmp_path / "runs", "--run-id", "f").returncode == 5  # a failed unit
    shown = json.loads(evalcli("show", "f", "--runs-dir", tmp_path / "runs", "--json").stdout)
    assert shown["failed"] == 1 and shown["done"] == UNITS - 1  # done counts ok units
    heal.touch()
    again = evalcli("resume", "f", "--runs-dir", tmp_path / "runs")
    assert again.returncode == 0, again.stderr
    assert f"1 of {UNITS} units to run" in again.stdout
    rows = {r["custom_id"]: r for r in _rows(root)}
    assert len(rows) == UNITS and rows[unit]["status"] == "ok"
    shown = json.loads(evalcli("show", "f", "--runs-dir", tmp_path / "runs", "--json").stdout)
    assert shown["failed"] == 0 and shown["done"] == UNITS and shown["status"] == "completed"
    # nothing else ran again: one more result line, for that unit
    [trial] = trial_dirs(root)
    records = [json.loads(x) for x in (trial / "results.jsonl").read_text().splitlines()]
    assert len(records) == UNITS + 1 and records[-1]["custom_id"] == unit


def test_worker_that_dies_while_starting_ends_the_run_after_the_limit(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"exit_on_load": True})
    root = tmp_path / "runs" / "b"
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                     tmp_path / "runs", "--run-id", "b")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert f"died {MAX_BOOT_FAILURES} times while starting" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    died = [e for e in events(root) if e["event"] == "worker_died"]
    assert len(died) == MAX_BOOT_FAILURES
