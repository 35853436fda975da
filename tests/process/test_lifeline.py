"""Each mechanism that ties a worker to its supervisor, alone, on a child that is inside a
60 s native call when its parent is killed: the child must be gone within 1 s.

The parent is tests/process/lifeline_parent.py; "none" is the control that shows the test
can fail (without a mechanism the child outlives its parent). "job" is the Windows job
object with nothing else: contain() must say True on Windows (and False elsewhere, where
the child then outlives its parent like the control).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from evalcli.store.procid import is_running, start_token

MODES = ["default", "watcher", "kernel", "job", "none"]
WINDOWS = sys.platform == "win32"


def _start(mode: str) -> tuple[subprocess.Popen, int, str | None, str]:
    parent = subprocess.Popen([sys.executable, "-m", "tests.process.lifeline_parent", mode],
                              stdout=subprocess.PIPE, text=True)
    lines = {}
    while len(lines) < 3:  # "contained ...", "child <pid>" and "bound", in any order
        line = parent.stdout.readline()
        assert line, f"the parent exited early with {parent.wait()}"
        word, _, rest = line.strip().partition(" ")
        lines[word] = rest
    pid = int(lines["child"])
    return parent, pid, start_token(pid), lines["contained"]


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
    parent, pid, token, contained = _start(mode)
    try:
        assert token is not None and is_running(pid, token)
        if mode in ("default", "job"):  # the job takes the worker on Windows, only there
            assert contained == str(WINDOWS), f"winjob.contain() returned {contained}"
        parent.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        parent.wait(10)
        gone = _gone_within(pid, token, 1.0)
        expected = WINDOWS if mode == "job" else mode != "none"
        assert gone == expected, f"mode {mode}: child {pid} gone={gone}"
    finally:
        parent.kill()
        parent.stdout.close()
        if is_running(pid, token):
            import os
            import signal

            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
