"""Real spawned workers on the mock engine: the whole CLI path, and the crash matrix.

Every test runs `python -m evalcli run` as a child process, so spawn, the msgpack pipes, the
supervisor loop and the stages all run for real.
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
    events,
    popen_evalcli,
    read_csv,
    result_lines,
    trial_dirs,
    wait_until,
    write_profile,
)

LIMIT = "6"  # 6 sample items (open and closed) x 2 conditions = 12 units
UNITS = 12


def _predictions(run_root: Path) -> list[dict]:
    [trial] = trial_dirs(run_root)
    return read_csv(trial / "predictions.csv")


def _events(run_root: Path) -> list[dict]:
    return [json.loads(line) for line in (run_root / "events.jsonl").read_text().splitlines()]


def _first_closed_item_treatment() -> str:
    from evalcli.inputs.datasets import DatasetSource, load_sources

    items = load_sources([DatasetSource(format="sample")], Path.cwd(), limit_items=int(LIMIT))
    first = next(item for item in items if item.type == "closed")
    return f"{first.key}|treatment"


def test_mock_run_across_spawned_workers(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=3, options={"latency_ms": 300})
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                     "--runs-dir", tmp_path / "runs", "--run-id", "a", process=True)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "runs" / "a"
    rows = _predictions(root)
    ids = [r["custom_id"] for r in rows]
    assert len(ids) == UNITS and len(set(ids)) == UNITS
    assert all(r["status"] == "ok" and int(r["prompt_tokens"]) > 0 for r in rows)
    assert len({r["worker"] for r in rows}) >= 2  # spread across processes
    started = [e for e in _events(root) if e["event"] == "worker_start"]
    ready = {e["pid"] for e in _events(root) if e["event"] == "worker_ready"}
    assert len(started) == 3 and len(ready) == 3  # three separate processes came up
    manifest = json.loads((root / "run.json").read_text())
    assert manifest["status"] == "completed"
    [trial] = manifest["trials"].values()
    assert (trial["planned"], trial["done"], trial["failed"], trial["pending"]) == (UNITS, UNITS, 0, 0)
    assert "report: " in result.stdout and (root / "report.md").exists()
    assert "run id: a" in result.stdout


def test_units_sharing_a_system_prompt_stay_together_on_a_worker(tmp_path):
    """Each worker runs a condition's units back to back and never returns to a condition
    it left (a worker that finishes its group early may join another's: work stealing)."""
    profile = write_profile(tmp_path / "p.toml", workers=2,
                            sampling={"temperatures": [0.0], "samples_per_item": 3})
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                     "--runs-dir", tmp_path / "runs", "--run-id", "g")
    assert result.returncode == 0, result.stderr
    sequences: dict[int, list[str]] = {}
    [results] = (tmp_path / "runs" / "g" / "trials").glob("*/results.jsonl")
    for line in results.read_text().splitlines():  # finishing order
        record = json.loads(line)
        sequences.setdefault(record["worker"], []).append(record["custom_id"].split("|")[2])
    assert sum(map(len, sequences.values())) == 2 * 3 * int(LIMIT)
    for worker, groups in sequences.items():
        runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
        assert len(runs) == len(set(runs)), (worker, runs)  # no A, B, A


@pytest.mark.parametrize("fault", ["crash_on", "kill_on", "raise_on", "fail_on", "hang_on"])
def test_crash_matrix_one_bad_unit(tmp_path, fault):
    if fault == "kill_on" and sys.platform == "win32":
        pytest.skip("SIGKILL is POSIX; crash_on covers abrupt death on Windows")
    bad = _first_closed_item_treatment()
    profile = write_profile(tmp_path / "p.toml", workers=2, options={fault: [bad]},
                            run={"unit_timeout_s": 2.0, "max_crashes_per_unit": 3})
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                     "--runs-dir", tmp_path / "runs", "--run-id", "c")
    assert result.returncode == 5, result.stderr  # finished, with a failed unit
    root = tmp_path / "runs" / "c"
    rows = _predictions(root)
    assert len(rows) == UNITS and len({r["custom_id"] for r in rows}) == UNITS
    failed = [r for r in rows if r["status"] != "ok"]
    assert [r["custom_id"] for r in failed] == [f"{bad}|0.0|0|closed"]
    assert failed[0]["response_text"] == "" and failed[0]["error"]
    # units sent ahead to the dying worker but never started are not counted as tries
    assert all(int(r["attempts"]) == 1 for r in rows if r["status"] == "ok")
    if fault in ("crash_on", "kill_on", "hang_on"):
        assert int(failed[0]["attempts"]) == 3
        if fault == "hang_on":  # a timeout is recorded as one, not as a crash
            assert "timed out after 2 s (3 tries" in failed[0]["error"]
        else:
            assert "worker died 3 times" in failed[0]["error"]
        restarts = [e for e in _events(root) if e["event"] == "worker_restart"]
        assert len(restarts) >= 2
    else:
        assert int(failed[0]["attempts"]) == 1
    report = (root / "report.md").read_text(encoding="utf-8")
    assert "Failed units" in report and bad.split("|")[1] in report  # failures are shown


def test_a_native_fault_retires_the_worker_and_the_unit_is_tried_on_a_fresh_one(tmp_path):
    """An EngineFault (a llama.cpp call that faulted: OSError on Windows) is never followed by
    another unit in the same process: the worker replies, exits, a fresh one is started, and
    the unit is retried there (run.max_engine_retries); units sent ahead are not tries."""
    bad = _first_closed_item_treatment()
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"fault_on": [bad]})
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                     "--runs-dir", tmp_path / "runs", "--run-id", "n")
    assert result.returncode == 5, result.stderr  # finished, with the faulting unit failed
    root = tmp_path / "runs" / "n"
    rows = _predictions(root)
    assert len(rows) == UNITS and len({r["custom_id"] for r in rows}) == UNITS
    [failed] = [r for r in rows if r["status"] != "ok"]
    assert failed["custom_id"] == f"{bad}|0.0|0|closed" and int(failed["attempts"]) == 3
    assert "mock native fault" in failed["error"]
    assert all(int(r["attempts"]) == 1 for r in rows if r["status"] == "ok")
    log = _events(root)
    died = [e for e in log if e["event"] == "worker_died"]
    assert all("native fault" in e["how"] for e in died)
    assert all(e["unit"] is None for e in died)  # not counted as a crash of any unit
    # the third fault's exit is a death when other units are left, or, when it was the last
    # unit, the exit seen as the run shuts its workers down — one of the two, every time
    ended = [e for e in log if e["event"] == "worker_exit" and "native fault" in e["how"]]
    assert len(died) + len(ended) == 3 and len(died) >= 2, (died, ended)
    ready = [e["pid"] for e in log if e["event"] == "worker_ready"]
    # each try ran in its own process (the last fault may end the run before a restart)
    assert len(set(ready)) == len(ready) >= 3


def test_engine_that_cannot_load_stops_the_run_with_one_line(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=2, options={"fail_load": True})
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                     "--runs-dir", tmp_path / "runs", "--run-id", "f")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: the mock engine could not start")
    assert len(result.stderr.strip().splitlines()) == 1


def test_kill_9_a_worker_mid_run_completes_on_its_own(tmp_path):
    if sys.platform == "win32":
        pytest.skip("uses SIGKILL")
    # each worker answers 2 units, then holds its next one at the gate: once 4 results are
    # in, both workers are busy at a known point and the kill lands mid-run on any machine
    gate = tmp_path / "gate"
    profile = write_profile(tmp_path / "p.toml", workers=2,
                            options={"gate_file": str(gate), "gate_after": 2})
    root = tmp_path / "runs" / "k"
    proc = popen_evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                         "--runs-dir", tmp_path / "runs", "--run-id", "k")
    try:
        wait_until(lambda: result_lines(root) >= 4, "4 results (both workers at the gate)")
        assert result_lines(root) == 4  # the gate holds: nothing more until it opens
        victim = next(e["pid"] for e in events(root) if e["event"] == "worker_ready")
        os.kill(victim, signal.SIGKILL)
        gate.touch()
        out, err = proc.communicate(timeout=120)
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    rows = _predictions(root)
    assert len(rows) == UNITS and len({r["custom_id"] for r in rows}) == UNITS
    assert all(r["status"] == "ok" for r in rows)
    died = [e for e in _events(root) if e["event"] == "worker_died"]
    assert died and "SIGKILL" in died[0]["how"]
    # texts equal an uninterrupted run's (the mock is deterministic at temperature 0)
    clean = evalcli("run", "--profile", profile, "--limit-items", LIMIT,
                    "--runs-dir", tmp_path / "runs", "--run-id", "clean")
    assert clean.returncode == 0, clean.stderr
    texts = {r["custom_id"]: r["response_text"] for r in rows}
    assert texts == {r["custom_id"]: r["response_text"]
                     for r in _predictions(tmp_path / "runs" / "clean")}


def test_run_directory_with_spaces_and_non_ascii(tmp_path):
    runs = tmp_path / "my runs ü 実験"
    profile = write_profile(tmp_path / "p.toml", workers=1)
    result = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir", runs,
                     "--run-id", "u-1")
    assert result.returncode == 0, result.stderr
    assert len(_predictions(runs / "u-1")) == 4
