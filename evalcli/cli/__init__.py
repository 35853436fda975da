"""The Typer application: this module only assembles commands (one module per command).

Commands are thin: they may import any room of evalcli; nothing imports evalcli.cli except
the entry point (__main__).
"""

from __future__ import annotations

import typer

from evalcli.cli import analyze as analyze_cmd
from evalcli.cli import archive as archive_cmd
from evalcli.cli import compare as compare_cmd
from evalcli.cli import doctor as doctor_cmd
from evalcli.cli import resume as resume_cmd
from evalcli.cli import run as run_cmd
from evalcli.cli import runs as runs_cmd
from evalcli.cli import show as show_cmd
from evalcli.cli import stop as stop_cmd
from evalcli.cli import verify as verify_cmd

app = typer.Typer(
    name="evalcli",
    help="Does system prompt B really beat prompt A on this model, and by how much?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run_cmd.run)
app.command("runs")(runs_cmd.runs)
app.command("show")(show_cmd.show)
app.command("stop")(stop_cmd.stop)
app.command("resume")(resume_cmd.resume)
app.command("analyze")(analyze_cmd.analyze)
app.command("doctor")(doctor_cmd.doctor)
app.command("compare")(compare_cmd.compare)
app.command("archive")(archive_cmd.archive)
app.command("verify")(verify_cmd.verify)


@app.callback()
def _root() -> None:
    """evalcli: controlled A/B experiments on system prompts, with paired statistics."""
