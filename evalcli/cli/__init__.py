"""The Typer application: this module only assembles commands (one module per command).

Commands are thin: they may import any room of evalcli; nothing imports evalcli.cli except
the entry point (__main__).

Commands load lazily: `evalcli stop` imports evalcli.cli.stop and what it needs, never the
statistics (scipy, numpy) or the engines that `run` and `compare` need. `evalcli --help` lists
the commands from the first docstring line of each command function, read with `ast` from
the module's source without importing it. A command module imports at its top only typer
and evalcli.cli.common; its work (the pipeline, rich's console) is imported inside the function,
so every `--help` is Typer and the signature.

Help is plain (rich_markup_mode=None), for two reasons: Typer's rich help imports rich.markdown
and markdown-it on every `--help`, and it read help texts as rich markup, so "[stopping]"
vanished from `run --help`. benchmarks/bench_startup.py measures start-up (the figures are in
docs/performance.md, "CLI start-up"); tests/unit/test_cli_startup.py checks what each command
imports.

A command's values are converted without pydantic where they are plain str, Path or bool
(evalcli/cli/coerce.py), and its help names each value plainly (N, PATH, RUN_ID, STAGE; see
_load). Shell completion (`evalcli completion SHELL`) registers Typer's completion classes
only when the shell asks for completions (LazyGroup._main_shell_completion).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from evalcli.cli.coerce import lighten

# command name -> (module under evalcli.cli, function); the order is the order --help shows
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run"),
    "plan": ("plan", "plan"),
    "runs": ("runs", "runs"),
    "show": ("show", "show"),
    "stop": ("stop", "stop"),
    "resume": ("resume", "resume"),
    "analyze": ("analyze", "analyze"),
    "doctor": ("doctor", "doctor"),
    "compare": ("compare", "compare"),
    "archive": ("archive", "archive"),
    "verify": ("verify", "verify"),
    "gate": ("gate", "gate"),
    "completion": ("completion", "completion"),
    "cache": ("cache", "cache"),
}


def _docstring(module: str, function: str) -> str | None:
    """The command function's docstring, read from source; None when the source is absent."""
    import ast  # only a help listing reads docstrings

    spec = importlib.util.find_spec(f"evalcli.cli.{module}")
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), spec.origin)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_docstring(node)
    return None


def _help_flag_false(option):
    # --help not given reads as None in Typer 0.2x, and coercing None builds a pydantic
    # adapter (importing pydantic) only to return None; False is what the flag means.
    if option is not None and option.default is None:
        option.default = False
    return option


class LightCommand(TyperCommand):
    """A command whose unset --help costs no pydantic import (see _help_flag_false)."""

    def get_help_option(self, ctx: typer.Context):
        return _help_flag_false(super().get_help_option(ctx))


class _Argument(TyperArgument):
    """An argument whose help shows its metavar as written: `RUN_ID` in the usage line and
    the Arguments list (Typer 0.2x writes `{RUN_ID}` and `RUN_ID <str>`)."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return None if self.metavar is not None else super().display_type_rich(ctx)

    def _usage_display_name(self) -> str:
        if self.metavar is None:
            return super()._usage_display_name()
        name = self.metavar if self.required else f"[{self.metavar}]"
        return name + ("..." if self.nargs != 1 else "")


def _load(name: str) -> TyperCommand:
    module, function = COMMANDS[name]
    one = typer.Typer(pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None)
    one.command(name, context_settings=CONTEXT, cls=LightCommand)(getattr(importlib.import_module(f"evalcli.cli.{module}"), function))
    command = typer.main.get_command(one)
    lighten(command)  # str and Path values without pydantic (evalcli/cli/coerce.py)
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif getattr(param, "metavar", "") is None and not getattr(param, "is_flag", True):
            param.metavar = _metavar(param)
    return command


# an option's value in --help, by type, where the option names none: N, not <int>
_METAVARS = {int: "N", float: "NUMBER", str: "TEXT", Path: "PATH"}


def _metavar(param) -> str | None:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if getattr(annotation, "__origin__", None) is list:  # a repeatable option: one value
        annotation = annotation.__args__[0]
    return _METAVARS.get(annotation)


def _summary(doc: str) -> str:
    """The docstring's first sentence on one line: the root --help wraps it, never cuts it."""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    head, dot, _ = paragraph.partition(". ")
    return head + dot.strip()


def _listed(name: str) -> TyperCommand:
    """What the root --help shows for a command: its name and docstring, nothing imported."""
    doc = _docstring(*COMMANDS[name])
    if doc is None:
        return _load(name)
    return TyperCommand(name, help=doc, short_help=_summary(doc))


class LazyGroup(TyperGroup):
    """A group whose commands are imported when used; the root --help lists them unimported."""

    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:
            return self.commands.get(cmd_name) or _listed(cmd_name)
        if cmd_name not in self.commands:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands[cmd_name]

    def get_help_option(self, ctx: typer.Context):
        return _help_flag_false(super().get_help_option(ctx))

    def format_help(self, ctx: typer.Context, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def _main_shell_completion(self, ctx_args, prog_name: str, complete_var: str | None = None):
        # the shell asks for completions (`evalcli completion SHELL` wrote the script that
        # sets _EVALCLI_COMPLETE): only then register Typer's completion classes, which
        # add_completion=False never does; an ordinary start-up reads one variable
        import os

        if os.environ.get(complete_var or f"_{prog_name}_COMPLETE".replace("-", "_").upper()):
            from typer.completion import completion_init

            completion_init()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)

    def shell_complete(self, ctx: typer.Context, incomplete: str):
        # completing a command name lists them all: from their docstrings, none imported
        self._listing = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._listing = False

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        # an unknown name: TyperGroup suggests close ones from self.commands, so show it all
        if not args or args[0] in COMMANDS:
            return super().resolve_command(ctx, args)
        loaded = self.commands
        self.commands = {name: loaded.get(name) or _listed(name) for name in COMMANDS}
        try:
            return super().resolve_command(ctx, args)
        finally:
            self.commands = loaded


# -h as well as --help, everywhere
CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="evalcli",
    context_settings=CONTEXT,
    cls=LazyGroup,
    help="Does system prompt B really beat prompt A on this model, and by how much?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"evalcli {version('evalcli')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("evalcli (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and exit.")) -> None:
    """evalcli: controlled A/B experiments on system prompts, with paired statistics."""
