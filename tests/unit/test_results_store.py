"""results.jsonl: appends, torn tails, latest-per-id; atomic writes; the run lock."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from evalcli.errors import RunError
from evalcli.store.fsutil import atomic_write_text
from evalcli.store.lock import RunLock
from evalcli.store.results import (
    LatestResults,
    ResultRecord,
    ResultsWriter,
    cut_torn_tail,
    read_statuses,
)
from evalcli.store.rundir import validate_run_id
from tests.helpers import wait_until


def _rec(cid: str, status: str = "ok", text: str = "x") -> ResultRecord:
    return ResultRecord(custom_id=cid, status=status, text=text)


def test_append_read_and_torn_tail(tmp_path):
    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    for i in range(3):
        writer.append(_rec(f"u{i}"))
    writer.close()
    with open(path, "ab") as fh:
        fh.write(b'{"custom_id": "u3", "sta')
    statuses, torn = read_statuses(path)
    assert [statuses.get(f"u{i}") for i in range(4)] == ["ok", "ok", "ok", None]
    assert len(statuses) == 3 and (torn.offset, torn.length) == (len(path.read_bytes()) - 24, 24)
    with LatestResults(path) as results:
        assert results.torn == torn and [r.custom_id for r in results.records()] == \
            ["u0", "u1", "u2"]
    cut_torn_tail(path, torn)
    statuses, torn = read_statuses(path)
    assert len(statuses) == 3 and torn is None
    assert path.read_bytes().endswith(b"\n")
    # a last line that is complete but does not decode is torn too (cut short mid-record)
    with open(path, "ab") as fh:
        fh.write(b'{"custom_id": "u3"\n')
    with LatestResults(path) as results:
        assert read_statuses(path)[1] is not None and results.torn is not None


@pytest.mark.parametrize("reader", [read_statuses, LatestResults])
def test_corruption_before_the_last_line_is_an_error(tmp_path, reader):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"custom_id": "a", "status": "ok"}\nnot json\n{"custom_id": "b", "status": "ok"}\n')
    with pytest.raises(ValueError, match="line 2"):
        reader(path)


@pytest.mark.parametrize("ended", [False, True])
def test_an_over_long_line_is_read_through_never_held(tmp_path, monkeypatch, ended):
    """A line past MAX_LINE (a 1 GiB member of a crafted archive) is skipped in steps: at the
    end of the file it is a torn tail of its true length, complete it is corruption."""
    from evalcli.store import results as store

    monkeypatch.setattr(store, "MAX_LINE", 1000)
    path = tmp_path / "results.jsonl"
    good = b'{"custom_id": "a", "status": "ok"}\n'
    long = b'{"custom_id": "b", "text": "' + b"x" * 20_000_000 + (b'"}\n' if ended else b"")
    path.write_bytes(good + long)
    if ended:
        with pytest.raises(ValueError, match="line 2: .*20,000,031 bytes"):
            read_statuses(path)
        return
    read_statuses(tmp_path / "none.jsonl")  # its lazy imports, before measuring
    (tmp_path / "one.jsonl").write_bytes(good)
    read_statuses(tmp_path / "one.jsonl")
    tracemalloc.start()
    statuses, torn = read_statuses(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8_000_000, peak  # 1 MiB steps, never the 20 MB line
    assert statuses.get("a") == "ok" and len(statuses) == 1
    assert (torn.offset, torn.length) == (len(good), len(long))


@pytest.mark.parametrize("index", ["small", "arrays", "shared_hash"])
def test_latest_prefers_ok_over_failed(tmp_path, monkeypatch, index):
    """A file of up to `small_index` lines (what `runs` and `show` ask for) is indexed in a
    dict of its ids; otherwise (the default) ids are keyed by a 64-bit hash, and if two ids shared one (forced: every id the same hash) it
    is a dict of the ids instead — the same answers each way."""
    import evalcli.store.results as results_module

    small = results_module.SMALL_INDEX if index == "small" else 0
    shared_hash = index == "shared_hash"
    if shared_hash:
        monkeypatch.setattr(results_module, "hash", lambda text: 42, raising=False)
    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    for record in [_rec("a", "failed", ""), _rec("a", "ok", "yes"), _rec("a", "failed", ""),
                   _rec("b", "failed", "1"), _rec("c", "ok", "c1"), _rec("b", "failed", "2")]:
        writer.append(record)
    writer.close()
    with LatestResults(path, small) as best:
        assert (best._index._by_id is not None) == (index != "arrays")
        assert best.get("a").text == "yes" and best.status("a") == "ok"
        assert best.get("b").text == "2" and best.status("b") == "failed"  # the last failure
        assert best.get("zz") is None and best.status("zz") is None
        assert (best.count("ok"), best.count("failed")) == (2, 1)
        assert [r.custom_id for r in best.records()] == ["a", "b", "c"]  # first appearance
        assert [r.text for r in best.records("failed")] == ["2"]
    statuses = read_statuses(path, small)[0]
    assert [statuses.get(k) for k in "abcz"] == ["ok", "failed", "ok", None]
    assert (len(statuses), statuses.count("ok"), statuses.count("failed")) == (3, 2, 1)
    statuses.set("b", "ok")  # a retried unit's new status
    statuses.set("d", "failed")  # a unit not in the file
    assert [statuses.get(k) for k in "abcd"] == ["ok", "ok", "ok", "failed"]
    assert (len(statuses), statuses.count("ok"), statuses.count("failed")) == (4, 3, 1)
    assert statuses.get_many(list("abcdz")) == ["ok", "ok", "ok", "failed", None]
    assert read_statuses(tmp_path / "none.jsonl")[0].get_many(["a"]) == [None]


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "f.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]  # no temp files left


def test_lock_refuses_a_second_holder_and_names_it(tmp_path):
    path = tmp_path / "run" / "run.lock"
    with RunLock(path):
        with pytest.raises(RunError, match=f"in use by process {os.getpid()}"):
            RunLock(path).acquire()
    with RunLock(path) as again:  # released cleanly: no stale notice
        assert again.previous_pid is None


def test_live_holder_probe_is_read_only(tmp_path):
    from evalcli.store.lock import live_holder

    path = tmp_path / "run.lock"
    assert live_holder(path) is None and not path.exists()
    with RunLock(path):
        assert live_holder(path) == os.getpid()
    assert live_holder(path) is None  # released: the file is empty
    path.write_text(str(os.getpid()))  # a running PID that holds no lock (a reused PID)
    assert live_holder(path) is None


HOLDER = """
import os, sys
from pathlib import Path
from evalcli.store.lock import RunLock
lock = RunLock(Path(sys.argv[1])).acquire()
print(os.getpid(), flush=True)
sys.stdin.read()
"""


def test_a_holder_in_another_process_then_its_death(tmp_path):
    """A live holder is named; once it is dead (killed holding the lock) its PID is still in
    the file, the probe says it is not running, and the next holder takes over, naming it."""
    import subprocess
    import sys

    from evalcli.store.lock import live_holder
    from evalcli.store.procid import is_running

    path = tmp_path / "run.lock"
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        # the PID the child reports: on Windows a venv's python.exe is a launcher whose PID
        # (Popen.pid) is not the interpreter's
        pid = int(child.stdout.readline())
        assert is_running(pid) and live_holder(path) == pid
        with pytest.raises(RunError, match=f"in use by process {pid}"):
            RunLock(path).acquire()
    finally:
        child.kill()
        child.communicate(timeout=60)
    # a launcher (Windows venv) is reaped; the interpreter dies with it or right after it
    wait_until(lambda: not is_running(pid), f"process {pid} to end after the kill", 60)
    assert path.read_text(encoding="ascii").split() == [str(pid)]  # nobody cleaned up
    assert not is_running(pid)  # the probe's verdict on the dead holder
    assert live_holder(path) is None
    with RunLock(path) as lock:
        assert lock.previous_pid == pid


@pytest.mark.parametrize("bad", ["../x", "a/b", "a\\b", "..", ".hidden", ""])
def test_bad_run_ids(bad):
    with pytest.raises(RunError):
        validate_run_id(bad)


def test_good_run_ids():
    for good in ("r20261128-235901-ab12", "my_run.v2", "_x-1", "a" * 120):
        assert validate_run_id(good) == good


def test_latest_matches_a_plain_dict_on_many_retried_ids(tmp_path):
    """300 lines over 80 ids, each retried at random: the index gives what a dict of every
    record (ok beats failed, the last of each kind wins) gives, in first-appearance order."""
    import random

    rng = random.Random(3)
    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    expected: dict[str, ResultRecord] = {}
    for n in range(300):
        record = _rec(f"d|q{rng.randrange(80)}|control|0.0|0|closed",
                      rng.choice(["ok", "failed"]), f"line {n}")
        writer.append(record)
        current = expected.get(record.custom_id)
        if current is None or record.status == "ok" or current.status == "failed":
            expected[record.custom_id] = record
    writer.close()
    with LatestResults(path) as best:
        assert [r.text for r in best.records()] == [r.text for r in expected.values()]
        assert all(best.get(k).text == r.text and best.status(k) == r.status
                   for k, r in expected.items())
        assert best.count("ok") == sum(r.status == "ok" for r in expected.values())
        assert [r.text for r in best.records("ok")] == \
            [r.text for r in expected.values() if r.status == "ok"]
