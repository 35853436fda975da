"""Process identity: a PID plus its start token; zombies and reused PIDs are not "running".

Each test runs with every probe this machine has: the OS's own (ctypes / /proc) and psutil
when it is installed (evalcli[dev] installs it, so CI runs both)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from evalcli.store import procid
from evalcli.store.procid import is_running, start_token
from ipc.inherit import InheritedFile

PROBES = [pytest.param(procid._probe_native, id="native"), pytest.param(
    procid._probe_psutil, id="psutil", marks=pytest.mark.skipif(
        importlib.util.find_spec("psutil") is None, reason="psutil is not installed"))]


@pytest.fixture(params=PROBES)
def probe(request, monkeypatch):
    monkeypatch.setattr(procid, "_probe", request.param)
    return request.param


def test_this_process_is_running_and_a_wrong_token_is_another_process(probe):
    token = start_token(os.getpid())
    assert token is not None
    assert is_running(os.getpid()) and is_running(os.getpid(), token)
    assert not is_running(os.getpid(), token + "0")
    assert not is_running(0) and not is_running(-1)


def test_an_exited_process_is_gone_even_before_it_is_reaped(probe):
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        token = start_token(child.pid)
        assert token is not None and is_running(child.pid, token)
        assert start_token(child.pid) == token  # stable while it lives
    finally:
        child.kill()
    if hasattr(os, "waitid"):  # POSIX: after this the child is a zombie, not yet reaped
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert not is_running(child.pid, token)
    child.wait()
    assert not is_running(child.pid, token)


def test_a_token_from_the_other_probe_is_judged_by_liveness_alone(monkeypatch):
    """psutil installed (or removed) between writing a lock file and reading it: the PID is
    neither taken for another process nor kept alive after it ends."""
    monkeypatch.setattr(procid, "_probe", lambda pid: (True, "ps:1700000000.25"))
    assert is_running(42, "8812345")  # a native token: cannot be compared
    assert not is_running(42, "ps:1700000000.5")  # same kind, other value: another process
    monkeypatch.setattr(procid, "_probe", lambda pid: (True, "8812345"))
    assert is_running(42, "ps:1700000000.25") and not is_running(42, "8812346")
    monkeypatch.setattr(procid, "_probe", lambda pid: None)
    assert not is_running(42, "ps:1700000000.25")


@pytest.mark.skipif(sys.platform != "win32", reason="the kernel32 probe runs on Windows only")
def test_every_kernel32_call_is_declared():
    assert procid._probe_windows(os.getpid()) is not None
    kernel32 = procid._kernel32()
    for name in ("OpenProcess", "GetExitCodeProcess", "GetProcessTimes", "CloseHandle"):
        function = getattr(kernel32, name)
        assert function.argtypes is not None and function.restype is not None, name


def test_an_inherited_file_is_only_pickled_while_spawning():
    import pickle

    with pytest.raises(RuntimeError, match="while spawning"):
        pickle.dumps(InheritedFile(1))
