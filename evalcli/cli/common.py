"""Options shared by several commands (Annotated aliases) and the one console helper.

rich's console and tables are imported when a command prints, not when it is loaded: a
command's --help needs neither (tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

RunsDir = Annotated[
    Path, typer.Option("--runs-dir", metavar="DIR", envvar="EVALCLI_RUNS_DIR",
                       help="Folder that holds run directories (or $EVALCLI_RUNS_DIR).",
                       show_default=True)
]
RunIdArg = Annotated[str, typer.Argument(metavar="RUN_ID",
                                         help="The run id (a folder name under --runs-dir).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_table(out: Console, table: Table) -> None:
    """A table at its natural width when the output is a pipe or file (rich assumes 80
    columns there and would cut cells short); on a terminal, rich fits it to the window."""
    if out.is_terminal:
        out.print(table)
        return
    from rich.measure import Measurement

    width = out.width
    out.width = max(width, Measurement.get(out, out.options.update_width(1000), table).maximum)
    try:
        out.print(table)
    finally:
        out.width = width


AbstainPhrases = Annotated[list[str] | None, typer.Option(
    "--abstain-phrase", metavar="TEXT",
    help="A refusal wording to count as abstaining (added to [scoring] abstain_phrases; "
    "repeatable): the answers are re-scored, the model is not run again.")]
# the stage names as evalcli.run.stage_names orders them (importing it here would import the
# run package at every start-up; tests/unit/test_cli_help.py checks the two agree)
STAGES = "generate, parse, score, stats, costs, report"


def _stage_names(incomplete: str) -> list[str]:
    """What the shell completes after --from/--to/--only (`evalcli completion`)."""
    return [name for name in STAGES.split(", ") if name.startswith(incomplete)]


FromStage = Annotated[str | None, typer.Option(
    "--from", metavar="STAGE", autocompletion=_stage_names, help=f"First stage to run: one of {STAGES}.")]
ToStage = Annotated[str | None, typer.Option(
    "--to", metavar="STAGE", autocompletion=_stage_names, help=f"Last stage to run: one of {STAGES}.")]
OnlyStage = Annotated[str | None, typer.Option(
    "--only", metavar="STAGE", autocompletion=_stage_names, help=f"Run just this stage: one of {STAGES}.")]
Reuse = Annotated[bool, typer.Option(
    "--reuse", help="Take a unit's answer from the answer store when an earlier run made it "
    "with the very same model file, engine options, prompt, sampling and seed ([cache] reuse; "
    "docs/reuse.md).")]
Archive = Annotated[bool, typer.Option(
    "--archive", help="When the run ends (completed, with failed units, or stopped), pack it as "
    "`evalcli archive` does, into ./<run-id>.evalcli.zip.")]
CheckDeterminism = Annotated[int | None, typer.Option(
    "--check-determinism", metavar="K",
    help="After the units, re-run K of them at random in fresh workers and report how many "
    "came back identical ([cache] check_determinism).")]
