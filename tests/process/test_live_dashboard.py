"""On a terminal the run shows the live dashboard (rich Live), not plain progress lines."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

from tests.helpers import write_profile


@pytest.mark.skipif(sys.platform == "win32", reason="uses a POSIX pseudo-terminal")
def test_live_dashboard_on_a_terminal(tmp_path):
    import pty

    profile = write_profile(tmp_path / "p.toml", workers=2, options={"latency_ms": 100})
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalcli", "run", "--profile", str(profile), "--limit-items", "4",
         "--runs-dir", str(tmp_path / "runs"), "--run-id", "tty"],
        stdin=follower, stdout=follower, stderr=follower, close_fds=True,
        env={**os.environ, "COLUMNS": "160", "LINES": "40", "TERM": "xterm"})
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 180  # a hung child fails this test, never the whole suite
    closed = False
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, ("the run did not end within 180 s: "
                              + repr(b"".join(chunks)[-500:]))
            ready, _, _ = select.select([leader], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        closed = True
    finally:
        os.close(leader)
        if not closed and proc.poll() is None:  # the deadline, or anything else went wrong
            proc.kill()
            proc.wait(timeout=60)
    assert proc.wait(timeout=120) == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    for needle in ("evalcli run tty", "units/s", "tokens/s", "worker", "restarts", "ETA",
                   "done / planned"):
        assert needle in screen, needle
    assert "[progress]" not in screen  # plain lines are for pipes and logs only
    assert "run id: tty" in screen
