"""Options shared by several commands (Annotated aliases) and the one console helper."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

RunsDir = Annotated[
    Path, typer.Option("--runs-dir", help="Folder that holds run directories.", show_default=True)
]
RunIdArg = Annotated[str, typer.Argument(help="The run id (a folder name under --runs-dir).")]


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)
