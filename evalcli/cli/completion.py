"""`evalcli completion SHELL`: print the shell's completion script (docs/cli.md says where
it goes).

The script calls evalcli back with `_EVALCLI_COMPLETE=complete_<shell>` set; only then does
evalcli register Typer's completion classes (evalcli/cli/__init__.py, LazyGroup), so an
ordinary start-up does no completion work.
"""

from __future__ import annotations

from typing import Annotated

import typer

from evalcli.errors import ConfigError

SHELLS = ("bash", "zsh", "fish", "powershell")
PROG = "evalcli"
COMPLETE_VAR = "_EVALCLI_COMPLETE"

ShellArg = Annotated[str, typer.Argument(metavar="SHELL", help=f"One of {', '.join(SHELLS)}.")]


def completion(shell: ShellArg) -> None:
    """Print the completion script for a shell (bash, zsh, fish, powershell): add it to the
    shell's start-up file to complete commands, options and stage names."""
    if shell not in SHELLS:
        raise ConfigError(f"completion {shell!r}: not a shell evalcli completes — use one of "
                          f"{', '.join(SHELLS)}")
    from typer.completion import get_completion_script

    typer.echo(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell))
