"""Each mechanism that ties a worker to its supervisor, alone, on a child that is inside a
60 s native call when its parent is killed: the child must be gone within 1 s.

The parent is tests/process/lifeline_parent.py; "none" is the control that shows the test
can fail (without a mechanism the child outlives its parent).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from evalcli.store.procid import is_running, start_token

MODES = ["default", "watcher", "kernel", "none"]


def _start(mode: str) -> tuple[subprocess.Popen, int, str | None]:
    parent = subprocess.Popen([sys.executable, "-m", "tests.process.lifeline_parent", mode],
                              stdout=subprocess.PIPE, text=True)
    lines = {}
    while len(lines) < 2:  # "child <pid>" and "bound", in either order
        line = parent.stdout.readline()
        assert line, f"the parent exited early with {parent.wait()}"
        word, _, rest = line.strip().partition(" ")
        lines[word] = rest
    pid = int(lines["child"])
    return parent, pid, start_token(pid)


def _gone_within(pid: int, token: str | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while is_running(pid, token):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("mode", MODES)
def test_child_in_a_native_call_dies_with_its_parent(mode):
    if mode == "kernel" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    parent, pid, token = _start(mode)
    try:
        assert token is not None and is_running(pid, token)
        parent.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        parent.wait(10)
        gone = _gone_within(pid, token, 1.0)
        assert gone == (mode != "none"), f"mode {mode}: child {pid} gone={gone}"
    finally:
        parent.kill()
        parent.stdout.close()
        if is_running(pid, token):
            import os
            import signal

            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
