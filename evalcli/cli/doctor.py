"""`evalcli doctor`: diagnose the machine; exit 0 when nothing failed, 1 otherwise."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from evalcli.cli.common import JsonFlag, RunsDir, console, print_table

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def doctor(
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Also check this profile's engine (bundled name or .toml path).")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Smoke-load this .gguf with llama-cpp-python (n_ctx 512, 8 tokens).")] = None,
    runs_dir: RunsDir = Path("runs"),
    as_json: JsonFlag = False,
) -> None:
    """Diagnose the machine: Python, spawn, llama.cpp wheel, demo model, GPU/NVML, resources, engines."""
    from evalcli.doctor import run_checks

    if as_json:
        checks = run_checks(profile, model, runs_dir)
        # ASCII-only JSON: safe on any console code page and in any pipe
        typer.echo(json.dumps(msgspec.to_builtins(checks), indent=2))
    else:
        out = console()
        with out.status("running checks…", spinner="dots") if out.is_terminal else nullcontext():
            checks = run_checks(profile, model, runs_dir)
        table = Table(title="evalcli doctor", show_lines=False)
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in checks:
            table.add_row(Text(check.name), Text(check.status, style=_STYLE[check.status]),
                          Text(check.detail), Text(check.fix))
        print_table(out, table)
        counts = {s: sum(c.status == s for c in checks) for s in ("ok", "warn", "fail", "skip")}
        out.print(", ".join(f"{n} {s}" for s, n in counts.items()), markup=False)
    if any(check.status == "fail" for check in checks):
        raise typer.Exit(1)
