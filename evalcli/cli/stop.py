"""`evalcli stop RUN_ID`: ask a run to stop cooperatively, from another terminal.

Writes runs/<id>/STOP (atomically; the ISO time and the requesting PID). The supervisor
checks for it, finishes the units in flight, stops cleanly and leaves a resumable run.
"""

from __future__ import annotations

import os
from pathlib import Path

from evalcli.cli.common import RunIdArg, RunsDir, console
from evalcli.store.fsutil import atomic_write_text, utc_now
from evalcli.store.runinfo import load_manifest, open_run

_FINISHED = {
    "completed": "it has already completed; there is nothing to stop",
    "stopped": "it is already stopped",
    "failed": "it has already ended (failed)",
}


def stop(run_id: RunIdArg, runs_dir: RunsDir = Path("runs")) -> None:
    """Ask a run to stop: in-flight units finish, then it stops and can be resumed."""
    out = console()
    rd = open_run(runs_dir, run_id)
    manifest = load_manifest(rd)
    if manifest.status in _FINISHED:
        out.print(f"run {rd.run_id}: {_FINISHED[manifest.status]} — no STOP file written.",
                  markup=False)
        if manifest.status != "completed":
            out.print(f"resume it with: evalcli resume {rd.run_id}", markup=False)
        return
    again = rd.stop_file.exists()
    atomic_write_text(rd.stop_file, f"{utc_now()} pid {os.getpid()}\n")
    out.print(f"stop {'requested again' if again else 'requested'} for run {rd.run_id} "
              f"({rd.stop_file}).", markup=False)
    out.print("Units in flight will finish, then the run stops; the finished work is kept.",
              markup=False)
    out.print(f"Resume it later with: evalcli resume {rd.run_id}", markup=False)
