"""The Typer application: this module only assembles commands (one module per command)."""

from __future__ import annotations

import typer

from evalcli.cli import run as run_cmd

app = typer.Typer(
    name="evalcli",
    help="Does system prompt B really beat prompt A on this model, and by how much?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run_cmd.run)


@app.callback()
def _root() -> None:
    """evalcli: controlled A/B experiments on system prompts, with paired statistics."""
