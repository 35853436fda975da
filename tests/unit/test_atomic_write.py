"""The atomic write's promise (docs: the store): on any failure the old content stays and no
temp file is left; on Windows a replace refused while a reader holds the file is retried."""

from __future__ import annotations

import os

import pytest

from evalcli.errors import StoreWriteError
from evalcli.store import fsutil
from evalcli.store.fsutil import atomic_write_text


def _left(path):
    return sorted(p.name for p in path.parent.iterdir())


@pytest.fixture
def old(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("old", encoding="utf-8")
    return path


def _boom(*args, **kwargs):
    raise OSError("disk full")


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["fsync", "replace"])
@pytest.mark.parametrize("error", [_boom, _interrupt])
def test_failure_keeps_old_content_and_leaves_no_temp(old, monkeypatch, where, error):
    monkeypatch.setattr(fsutil.os, where, error)
    with pytest.raises((StoreWriteError, KeyboardInterrupt)):
        atomic_write_text(old, "new")
    monkeypatch.undo()
    assert old.read_text(encoding="utf-8") == "old"
    assert _left(old) == ["run.json"]


def test_failure_writing_the_data_leaves_no_temp(old, monkeypatch):

    real_fdopen = os.fdopen

    def fdopen(fd, mode):
        fh = real_fdopen(fd, mode)
        fh.write = _boom
        return fh

    monkeypatch.setattr(fsutil.os, "fdopen", fdopen)
    with pytest.raises(StoreWriteError):
        atomic_write_text(old, "new")
    monkeypatch.undo()
    assert old.read_text(encoding="utf-8") == "old" and _left(old) == ["run.json"]


def test_replace_refused_a_few_times_is_retried(old, monkeypatch):
    """Windows: os.replace raises PermissionError while another process has the file open."""
    real_replace, calls, waits = os.replace, [], []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) < 3:
            raise PermissionError(13, "in use by another process")
        real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    monkeypatch.setattr(fsutil.time, "sleep", waits.append)
    atomic_write_text(old, "new")
    assert len(calls) == 3 and len(waits) == 2 and all(w > 0 for w in waits)
    assert old.read_text(encoding="utf-8") == "new" and _left(old) == ["run.json"]


def test_replace_refused_for_good_gives_up_cleanly(old, monkeypatch):
    calls, waits = [], []

    def replace(src, dst):
        calls.append(dst)
        raise PermissionError(13, "in use by another process")

    monkeypatch.setattr(fsutil.os, "replace", replace)
    monkeypatch.setattr(fsutil.time, "sleep", waits.append)
    with pytest.raises(StoreWriteError, match="permission denied"):
        atomic_write_text(old, "new")
    monkeypatch.undo()
    assert len(calls) == fsutil._REPLACE_TRIES and len(waits) == fsutil._REPLACE_TRIES - 1
    assert old.read_text(encoding="utf-8") == "old" and _left(old) == ["run.json"]


def test_success_writes_exactly_the_text(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "héllo\n")
    assert path.read_bytes() == "héllo\n".encode() and _left(path) == ["a.txt"]
