"""Run the CLI in this process (the `python -m evalcli` entry point, errors mapped to one line
and an exit code), for the tests that are not about the CLI's own process.

A mock run costs ~0.2 s here against ~0.9 s as a child process, nearly all of it the child's
imports (numpy, scipy.special, the refusal grammar, Typer): a run's engine workers are real
spawned processes either way. What differs from a child process is put back after each call:
sys.argv, the working folder, stdout/stderr, the SIGINT/SIGTERM handlers main() and the
supervisor install. Tests about the process itself (its signals, its console, kill -9, the
environment it inherits) run a child: tests/helpers.py `evalcli(..., process=True)`.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from evalcli.__main__ import main

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK")
                 if hasattr(signal, name))


def evalcli_here(*args: object, cwd: Path | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `evalcli *args`. An exception that escapes main (a bug:
    the real CLI would print a traceback) is returned as exit code 1 with its traceback.

    A command that leaves a thread running or a child process alive behind it fails the
    test here: a real `evalcli` would hang at exit or leave an orphan, which a child process
    run would show only as a timeout."""
    out, err = io.StringIO(), io.StringIO()
    argv, folder = sys.argv, os.getcwd()
    handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    threads = set(threading.enumerate())
    sys.argv = ["evalcli", *map(str, args)]
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:  # noqa: BLE001 - what the user would see as a traceback
                code = 1
                err.write(traceback.format_exc())
    finally:
        sys.argv = argv
        os.chdir(folder)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    # (a loopback test server of the test's own may still be answering a request)
    left = [t.name for t in set(threading.enumerate()) - threads
            if t.is_alive() and not t.name.endswith("(process_request_thread)")]
    children = [p.pid for p in multiprocessing.active_children()]
    assert not left and not children, (
        f"evalcli {' '.join(map(str, args))} left threads {left} and child processes "
        f"{children} running after it returned")
    return code, out.getvalue(), err.getvalue()
