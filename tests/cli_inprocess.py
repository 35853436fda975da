"""Run the CLI in this process (the `python -m evalcli` entry point, errors mapped to one line
and an exit code) — for tables of bad inputs, where a child process per case is too slow."""

from __future__ import annotations

import contextlib
import io
import sys
import traceback

from evalcli.__main__ import main


def evalcli_here(*args: object) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `evalcli *args`. An exception that escapes main (a bug:
    the real CLI would print a traceback) is returned as exit code 1 with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["evalcli", *map(str, args)]
    code = 0
    try:
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
    return code, out.getvalue(), err.getvalue()
