"""Plain `str` and `Path` parameters converted without pydantic (start-up time).

Typer 0.2x converts every parameter value through a pydantic TypeAdapter, and building the
first one imports pydantic, which every command given a value (`evalcli runs --runs-dir D`,
`show X`, `stop X`) would pay for at start-up (what it costs: docs/performance.md, "CLI
start-up").

`lighten(command)` gives each plain `str`, `Path` or `bool` parameter of a command a
conversion that does what Typer's does: a str is the text given; a Path goes through Typer's
own path checks (`coerce_cli_path`: exists, file_okay, readable ...) and becomes a `Path`; a
bool flag is its bool (None for `--help` not given; text from an environment variable goes
to Typer's conversion). Anything
else (numbers with ranges, lists, choices, parsers) keeps Typer's. On a Typer without that
machinery (older, or changed) `lighten` changes nothing: it only ever saves time.
tests/unit/test_cli_coerce.py checks the values equal Typer's; test_cli_startup.py that
`runs`, `show X` and `stop X` import no pydantic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

try:
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_path
except ImportError:  # a Typer that converts values some other way
    RuntimeParam = None  # type: ignore[assignment,misc]


if RuntimeParam is not None:
    # subclasses of Typer's frozen dataclass that add only a method: they inherit its
    # __init__ (parameter_info, annotation), and @dataclass would exec new ones at start-up

    class _Str(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return os.fsdecode(value) if isinstance(value, bytes) else str(value)

    class _Bool(RuntimeParam):
        # a flag's value is a bool already, or None for --help not given; text (from an
        # environment variable) goes through Typer's own conversion
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if isinstance(value, bool):
                return value
            from typer._coercion import build_runtime_param

            return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)

    class _Path(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if isinstance(value, Path):
                return value
            checked = coerce_cli_path(value, self.parameter_info, path_type=None,
                                      param=param, ctx=ctx)
            return Path(os.fsdecode(checked) if isinstance(checked, bytes) else checked)


def lighten(command: Any) -> None:
    """Convert the command's plain str, Path and bool parameters without pydantic."""
    if RuntimeParam is None:
        return
    for param in getattr(command, "params", ()):
        desc = getattr(param, "type_descriptor", None)
        if desc is None or getattr(param, "_runtime_param", False) is not None:
            continue
        info = desc.parameter_info
        if desc.file_annotation is not None or getattr(info, "parser", None) is not None:
            continue
        if desc.annotation is str:
            param._runtime_param = _Str(parameter_info=info, annotation=str)
        elif desc.annotation is bool:
            param._runtime_param = _Bool(parameter_info=info, annotation=bool)
        elif desc.annotation is Path and getattr(info, "path_type", None) is None:
            param._runtime_param = _Path(parameter_info=info, annotation=Path)
