"""Process identity: a PID plus its start token; zombies and reused PIDs are not "running"."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from evalcli.store.procid import is_running, start_token
from ipc.inherit import InheritedFile


def test_this_process_is_running_and_a_wrong_token_is_another_process():
    token = start_token(os.getpid())
    assert token is not None
    assert is_running(os.getpid()) and is_running(os.getpid(), token)
    assert not is_running(os.getpid(), token + "0")
    assert not is_running(0) and not is_running(-1)


def test_an_exited_process_is_gone_even_before_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        token = start_token(child.pid)
        assert token is not None and is_running(child.pid, token)
    finally:
        child.kill()
    if hasattr(os, "waitid"):  # POSIX: after this the child is a zombie, not yet reaped
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert not is_running(child.pid, token)
    child.wait()
    assert not is_running(child.pid, token)


def test_an_inherited_file_is_only_pickled_while_spawning():
    import pickle

    with pytest.raises(RuntimeError, match="while spawning"):
        pickle.dumps(InheritedFile(1))
