"""`evalcli stop RUN_ID`: ask a run to stop cooperatively, from another terminal.

Writes runs/<id>/STOP (atomically; the ISO time and the requesting PID). The supervisor
checks for it, finishes the units in flight, stops cleanly and leaves a resumable run.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from evalcli.cli.common import RunIdArg, RunsDir
from evalcli.store.fsutil import atomic_write_text, utc_now
from evalcli.store.runinfo import load_manifest, open_run

_FINISHED = {
    "completed": "it has already completed; there is nothing to stop",
    "stopped": "it is already stopped",
    "failed": "it has already ended (failed)",
}


def stop(run_id: RunIdArg, runs_dir: RunsDir = Path("runs")) -> None:
    """Ask a run to stop: in-flight units finish, then it stops and can be resumed."""
    rd = open_run(runs_dir, run_id)
    manifest = load_manifest(rd)
    if manifest.status in _FINISHED:
        typer.echo(f"run {rd.run_id}: {_FINISHED[manifest.status]} — no STOP file written.")
        if manifest.status != "completed":
            typer.echo(f"resume it with: evalcli resume {rd.run_id}")
        return
    again = rd.stop_file.exists()
    atomic_write_text(rd.stop_file, f"{utc_now()} pid {os.getpid()}\n")
    # plain lines: rich's console is not imported (start-up, docs/performance.md)
    typer.echo(f"stop {'requested again' if again else 'requested'} for run {rd.run_id} "
               f"({rd.stop_file}).")
    typer.echo("Units in flight will finish, then the run stops; the finished work is kept.")
    typer.echo(f"Resume it later with: evalcli resume {rd.run_id}")
