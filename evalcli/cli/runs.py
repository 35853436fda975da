"""`evalcli runs`: the runs in a folder, newest first (a table, or JSON with --json)."""

from __future__ import annotations

from pathlib import Path

import typer

from evalcli.cli.common import JsonFlag, RunsDir, console, print_table
from evalcli.store.runinfo import list_runs, to_json


def runs(runs_dir: RunsDir = Path("runs"), as_json: JsonFlag = False) -> None:
    """List the runs in --runs-dir: id, created, profile, status, units done/total, failed."""
    found = list_runs(runs_dir)
    if as_json:
        typer.echo(to_json([summary.listing() for summary in found]))
        return
    from rich.table import Table
    from rich.text import Text

    out = console()
    if not found:
        out.print(f"no runs in {runs_dir} yet — start one with: evalcli run", markup=False)
        return
    table = Table(title=f"runs in {runs_dir}", title_justify="left")
    table.add_column("run id", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("profile")
    table.add_column("status", no_wrap=True)
    table.add_column("done/total", justify="right", no_wrap=True)
    table.add_column("failed", justify="right", no_wrap=True)
    for summary in found:
        if summary.status == "unreadable":
            cells = [summary.run_id, "—", "—", "unreadable", "—", "—"]
        else:
            # a sequential run that stopped at its verdict is complete with units skipped
            done = f"{summary.done}/{summary.planned}" + (
                f" ({summary.skipped} skipped: stopped at its verdict)" if summary.skipped
                else "")
            cells = [summary.run_id, summary.created_at, summary.profile, summary.status,
                     done, str(summary.failed)]
        table.add_row(*(Text(cell) for cell in cells))
    print_table(out, table)
    for summary in found:
        if summary.status == "unreadable":
            out.print(f"{summary.run_id}: {summary.error}", markup=False)
        elif summary.damaged:
            out.print(f"note: {summary.run_id}: {summary.warnings[0]}", markup=False)
