"""Kill -9 the supervisor while its workers are inside 10 s units: no worker is left 1 s
later, and `evalcli resume` then runs every planned unit exactly once. A resume refuses, in
one line naming the PID, while a worker listed in run.lock still runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evalcli.errors import RunError
from evalcli.store.lock import RunLock, record_workers
from evalcli.store.procid import is_running, start_token
from tests.helpers import evalcli, popen_evalcli, read_csv, trial_dirs, write_profile


def listed_workers(lock_file: Path) -> list[tuple[int, str]]:
    lines = lock_file.read_text(encoding="ascii").splitlines()[1:]
    return [(int(pid), token) for _, pid, token in (line.split() for line in lines)]


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def workers_inside_a_unit(root: Path, n: int) -> bool:
    logs = [root / "logs" / f"worker-{i}.log" for i in range(n)]
    return all(log.is_file() and "\nunit " in log.read_text(encoding="utf-8") for log in logs)


def assert_each_planned_unit_once(root: Path, planned: int) -> None:
    [trial] = trial_dirs(root)
    rows = read_csv(trial / "predictions.csv")
    assert len(rows) == planned and len({r["custom_id"] for r in rows}) == planned
    assert all(r["status"] == "ok" for r in rows)
    records = [json.loads(line) for line in
               (trial / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len({r["custom_id"] for r in records}) == planned


def test_kill_9_supervisor_mid_unit_leaves_no_worker_then_resume_runs_each_unit_once(tmp_path):
    if sys.platform == "win32":
        pytest.skip("uses SIGKILL; Windows CI covers the job object in test_lifeline")
    runs = tmp_path / "runs"
    root = runs / "o"
    profile = write_profile(tmp_path / "p.toml", workers=2, options={"latency_ms": 10_000})
    proc = popen_evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir", runs,
                         "--run-id", "o")
    try:
        wait_for(lambda: workers_inside_a_unit(root, 2), 120, "both workers to start a unit")
        workers = listed_workers(root / "run.lock")
        started = {json.loads(line)["pid"] for line in
                   (root / "events.jsonl").read_text(encoding="utf-8").splitlines()
                   if '"worker_start"' in line}
        assert {pid for pid, _ in workers} == started and len(started) == 2
        assert all(is_running(pid, token) for pid, token in workers)
        proc.kill()
        proc.wait(30)
        deadline = time.monotonic() + 1.0
        while any(is_running(pid, token) for pid, token in workers):
            assert time.monotonic() < deadline, "a worker outlived its supervisor by 1 s"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.communicate()
    [trial] = trial_dirs(root)
    assert not (trial / "results.jsonl").read_text(encoding="utf-8").strip()  # killed mid-unit
    result = evalcli("resume", "o", "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    assert "2 of 2 units to run" in result.stdout
    assert_each_planned_unit_once(root, 2)
    assert (root / "run.lock").read_text(encoding="ascii") == ""  # released, no workers listed


@pytest.fixture
def finished_run(tmp_path) -> Path:
    runs = tmp_path / "runs"
    profile = write_profile(tmp_path / "p.toml", workers=1)
    result = evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir", runs,
                     "--run-id", "f", "--to", "generate")
    assert result.returncode == 0, result.stderr
    return runs / "f"


def _stand_in_worker() -> subprocess.Popen:
    """A live process standing for a worker that outlived its supervisor."""
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)


def test_resume_refuses_while_a_listed_worker_runs_and_proceeds_once_it_is_gone(finished_run):
    stuck = _stand_in_worker()
    try:
        wait_for(lambda: start_token(stuck.pid) is not None, 30, "the stand-in to start")
        (finished_run / "run.lock").write_text(
            f"999999999\nworker {stuck.pid} {start_token(stuck.pid)}\n", encoding="ascii")
        refused = evalcli("resume", "f", "--runs-dir", finished_run.parent)
        assert refused.returncode == 4
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and f"worker process {stuck.pid}" in lines[0], refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        stuck.kill()
        stuck.wait(30)
    resumed = evalcli("resume", "f", "--runs-dir", finished_run.parent)
    assert resumed.returncode == 0, resumed.stderr
    assert_each_planned_unit_once(finished_run, 2)


def test_a_reused_pid_does_not_block_a_resume(finished_run):
    other = _stand_in_worker()  # alive, but not the process that was recorded
    try:
        wait_for(lambda: start_token(other.pid) is not None, 30, "the stand-in to start")
        recorded = start_token(other.pid) + "0"  # the recorded process started at another time
        (finished_run / "run.lock").write_text(f"999999999\nworker {other.pid} {recorded}\n",
                                               encoding="ascii")
        started = time.monotonic()
        with RunLock(finished_run / "run.lock"):
            assert time.monotonic() - started < 1.0  # no grace wait for a different process
    finally:
        other.kill()
        other.wait(30)


def test_the_lock_waits_for_a_worker_that_is_exiting(finished_run):
    """A resume started the instant the supervisor died waits for its workers (they die
    within a second) instead of refusing; a killed, not yet reaped one counts as gone."""
    exiting = _stand_in_worker()
    try:
        wait_for(lambda: start_token(exiting.pid) is not None, 30, "the stand-in to start")
        (finished_run / "run.lock").write_text(
            f"999999999\nworker {exiting.pid} {start_token(exiting.pid)}\n", encoding="ascii")
        killer = threading.Timer(0.5, exiting.kill)  # stays a zombie: nobody reaps it yet
        killer.start()
        with RunLock(finished_run / "run.lock") as lock:
            assert not is_running(exiting.pid)
            assert lock.previous_pid == 999999999
    finally:
        exiting.kill()
        exiting.wait(30)


def test_record_workers_keeps_the_holder_line(tmp_path):
    lock_file = tmp_path / "r" / "run.lock"
    helper = _stand_in_worker()
    try:
        with RunLock(lock_file):
            record_workers(lock_file, [helper.pid, os.getpid()])
            first, *rest = lock_file.read_text(encoding="ascii").splitlines()
            assert first == str(os.getpid())
            assert [line.split()[:2] for line in rest] == [
                ["worker", str(helper.pid)], ["worker", str(os.getpid())]]
            record_workers(lock_file, [])
            assert lock_file.read_text(encoding="ascii") == f"{os.getpid()}\n"
        # a lock whose listed worker is this very process (alive): refused, naming it
        lock_file.write_text(f"1\nworker {os.getpid()} {start_token(os.getpid())}\n",
                             encoding="ascii")
        with pytest.raises(RunError, match=f"worker process {os.getpid()} "):
            RunLock(lock_file).acquire()
        lock_file.write_text("", encoding="ascii")
        with RunLock(lock_file):  # the refusal released the lock
            pass
    finally:
        helper.kill()
        helper.wait(30)
