"""`evalcli runs`, `show` and `stop` on real runs made by the CLI with the mock engine."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from evalcli.store.manifest import STAGES
from tests.helpers import (
    evalcli,
    events,
    popen_evalcli,
    read_csv,
    trial_dirs,
    wait_until,
    write_profile,
)


def _run(tmp: Path, run_id: str, options: dict | None = None, limit: str = "3") -> Path:
    profile = write_profile(tmp / f"{run_id}.toml", workers=2, options=options)
    result = evalcli("run", "--profile", profile, "--limit-items", limit,
                     "--runs-dir", tmp / "runs", "--run-id", run_id, cwd=tmp)
    failing = bool(options and options.get("fail_on"))
    assert result.returncode == (5 if failing else 0), result.stderr  # 5: finished, units failed
    return tmp / "runs" / run_id


def _predictions(root: Path) -> list[dict]:
    [trial] = trial_dirs(root)
    return read_csv(trial / "predictions.csv")


def _cli(tmp: Path, *args: str):
    return evalcli(*args, "--runs-dir", tmp / "runs", cwd=tmp)


def _json(tmp: Path, *args: str):
    result = _cli(tmp, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _one_line_error(result, code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Runs "a" (clean), "b" (one unit fails) and "broken" (run.json is not JSON)."""
    tmp = tmp_path_factory.mktemp("browse")
    clean = _run(tmp, "a")
    bad = _predictions(clean)[0]["custom_id"]
    _run(tmp, "b", options={"fail_on": [bad]})
    broken = tmp / "runs" / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json", encoding="utf-8")
    return tmp


def test_runs_lists_newest_first_with_counts(runs):
    listed = _json(runs, "runs")
    by_id = {row["run_id"]: row for row in listed}
    assert set(by_id) == {"a", "b", "broken"}
    assert [row["run_id"] for row in listed].index("b") < [r["run_id"] for r in listed].index("a")
    units = len(_predictions(runs / "runs" / "a"))
    assert {k: by_id["a"][k] for k in ("status", "done", "total", "failed")} == \
        {"status": "completed", "done": units, "total": units, "failed": 0}
    assert (by_id["b"]["done"], by_id["b"]["failed"], by_id["b"]["total"]) == (units - 1, 1, units)
    assert by_id["a"]["profile"] and by_id["a"]["created_at"].endswith("Z")
    assert by_id["broken"]["status"] == "unreadable" and "run.json" in by_id["broken"]["error"]

    table = _cli(runs, "runs")
    assert table.returncode == 0 and "Traceback" not in table.stderr
    for word in ("a", "b", "broken", "unreadable", "completed", f"{units}/{units}",
                 f"{units - 1}/{units}"):
        assert word in table.stdout, table.stdout


def test_runs_in_a_missing_folder_is_a_friendly_line(tmp_path):
    result = evalcli("runs", "--runs-dir", tmp_path / "nothing-here", cwd=tmp_path)
    assert result.returncode == 0 and "no runs in" in result.stdout
    assert "evalcli run" in result.stdout
    as_json = evalcli("runs", "--runs-dir", tmp_path / "nothing-here", "--json", cwd=tmp_path)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []


def test_show_counts_match_predictions_and_lists_failed_units(runs):
    root = runs / "runs" / "b"
    rows = _predictions(root)
    shown = _json(runs, "show", "b")
    assert shown["run_id"] == "b" and shown["status"] == "completed" and shown["profile"]
    assert shown["created_at"] and shown["updated_at"]
    [(slug, trial)] = shown["trials"].items()
    assert slug == trial_dirs(root)[0].name
    assert trial["planned"] == len(rows)
    assert trial["done"] == sum(r["status"] == "ok" for r in rows)
    assert trial["failed"] == sum(r["status"] == "failed" for r in rows) == 1
    assert trial["pending"] == 0
    [failed_row] = [r for r in rows if r["status"] == "failed"]
    [unit] = shown["failed_units"]
    assert unit["custom_id"] == failed_row["custom_id"] and unit["trial"] == slug
    assert unit["attempts"] == 1 and unit["error"]
    assert list(shown["stages"]) == list(STAGES)
    assert all(s["status"] == "done" and s["started_at"] and s["ended_at"]
               for s in shown["stages"].values())
    assert "report.md" in shown["stages"]["report"]["artifacts"]
    assert Path(shown["paths"]["run_dir"]) == root.resolve()
    assert Path(shown["paths"]["report"]).is_file() and Path(shown["paths"]["logs"]).is_dir()
    assert shown["run_json_counts_stale"] is False and shown["warnings"] == []

    text = _cli(runs, "show", "b")
    assert text.returncode == 0, text.stderr
    for word in ("completed", failed_row["custom_id"], "report.md", "logs", slug):
        assert word in text.stdout, text.stdout


def test_show_recomputes_counts_when_run_json_is_stale(runs):
    """As after a kill -9: run.json still says running with nothing done; a torn last line."""
    root = runs / "runs" / "stale"
    shutil.copytree(runs / "runs" / "a", root)
    manifest = json.loads((root / "run.json").read_text(encoding="utf-8"))
    manifest["status"] = "running"
    for trial in manifest["trials"].values():
        trial.update(done=0, failed=0, pending=trial["planned"])
    (root / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    [trial_dir] = trial_dirs(root)
    with open(trial_dir / "results.jsonl", "ab") as fh:
        fh.write(b'{"custom_id": "torn')

    shown = _json(runs, "show", "stale")
    units = len(_predictions(root))
    assert shown["status"] == "interrupted"  # run.json says running; no process holds the lock
    assert (shown["done"], shown["failed"], shown["pending"]) == (units, 0, 0)
    assert shown["run_json_counts_stale"] is True
    assert len(shown["warnings"]) == 1 and "incomplete" in shown["warnings"][0]
    text = _cli(runs, "show", "stale")
    assert "counts shown are from results.jsonl" in text.stdout
    # show is read-only: the torn line is still there for resume to deal with
    assert (trial_dir / "results.jsonl").read_bytes().endswith(b'"torn')


def test_unknown_run_id_is_one_line_exit_4(runs):
    for command in ("show", "stop"):
        line = _one_line_error(_cli(runs, command, "nope"), 4)
        assert "nope" in line and str((runs / "runs").resolve()) in line
        assert "evalcli runs" in line


@pytest.mark.parametrize("bad_id", ["../x", "..", "a/b", "x/../a", ".hidden"])
def test_bad_run_ids_are_rejected(runs, bad_id):
    for command in ("show", "stop"):
        line = _one_line_error(_cli(runs, command, bad_id), 4)
        assert "not valid" in line
    assert not (runs / "STOP").exists() and not (runs / "runs" / "STOP").exists()


def test_unreadable_run_json_is_one_line_for_show(runs):
    line = _one_line_error(_cli(runs, "show", "broken"), 4)
    assert "run.json" in line


def test_stop_a_completed_run_writes_nothing(runs):
    result = _cli(runs, "stop", "a")
    assert result.returncode == 0, result.stderr
    assert "already completed" in result.stdout
    assert not (runs / "runs" / "a" / "STOP").exists()


def test_stop_a_running_run(tmp_path):
    # the worker answers 3 units, then holds the 4th until the gate file exists: the stop
    # request always lands while the run is in flight, however slow the machine
    gate = tmp_path / "gate"
    profile = write_profile(tmp_path / "slow.toml", workers=1,
                            options={"gate_file": str(gate), "gate_after": 3})
    root = tmp_path / "runs" / "slow"
    proc = popen_evalcli("run", "--profile", profile, "--limit-items", "10",
                         "--runs-dir", tmp_path / "runs", "--run-id", "slow", cwd=tmp_path)
    try:
        results = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = list(root.glob("trials/*/results.jsonl"))
            if found and found[0].read_bytes().count(b"\n") >= 3:
                results = found[0]
                break
            time.sleep(0.05)
        assert results is not None, "run never got going"

        stop = evalcli("stop", "slow", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
        assert stop.returncode == 0, stop.stderr
        assert "evalcli resume slow" in stop.stdout and "in flight" in stop.stdout
        stamp, pid_word, pid = (root / "STOP").read_text(encoding="utf-8").split()
        assert stamp.endswith("Z") and pid_word == "pid" and int(pid) > 0
        # the gated unit is let go only once the run has seen the request: let go earlier, its
        # answer could come back before the next look for the STOP file (every 0.2 s at most)
        # and the rest of the units with it
        wait_until(lambda: any(e["event"] == "stopping" for e in events(root)), "the run to see STOP")
        gate.touch()

        out, err = proc.communicate(timeout=60)
    finally:
        gate.touch()  # never leave a worker waiting at the gate
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert "evalcli resume slow" in out + err
    assert "Traceback" not in err

    finished = results.read_bytes().count(b"\n")
    shown = _json(tmp_path, "show", "slow")
    # the request was acted on: the run that ended removed its STOP file (issue 26)
    assert shown["status"] == "stopped" and shown["stop_requested"] is False
    assert not (tmp_path / "runs" / "slow" / "STOP").exists()
    assert shown["done"] == finished < shown["planned"]
    assert shown["pending"] == shown["planned"] - finished
    again = evalcli("stop", "slow", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert again.returncode == 0 and "already stopped" in again.stdout
