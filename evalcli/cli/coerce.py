"""Plain `str`, `Path`, `bool`, `int`, `float` and `list[str]` parameters converted without
pydantic (start-up time).

Typer 0.2x converts every parameter value through a pydantic TypeAdapter, and building the
first one imports pydantic, which every command given a value (`evalcli runs --runs-dir D`,
`show X`, `stop X`) would pay for at start-up (what it costs: docs/performance.md, "CLI
start-up").

`lighten(command)` gives each plain `str`, `Path` or `bool` parameter of a command a
conversion that does what Typer's does: a str is the text given; a Path goes through Typer's
own path checks (`coerce_cli_path`: exists, file_okay, readable ...) and becomes a `Path`; a
bool flag is its bool (None for `--help` not given; text from an environment variable goes
to Typer's conversion); an int or float written in plain ASCII digits ("12", "-3", "0.05",
"1e-3") is `int(text)` / `float(text)`, which is what pydantic gives for those, and any other
text ("1_000", " 3", "abc", "１２") goes to Typer's own conversion, so its value or its error
message is Typer's; a list of str is the texts given. Anything else (numbers with ranges,
lists of paths, choices, parsers) keeps Typer's. On a Typer without that
machinery (older, or changed) `lighten` changes nothing: it only ever saves time.
tests/unit/test_cli_coerce.py checks the values equal Typer's; test_cli_startup.py that
`runs`, `show X` and `stop X` import no pydantic.
"""

from __future__ import annotations

import os
import re
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

    class _Number(RuntimeParam):
        # plain ASCII numbers here; anything else to Typer's conversion (value or error)
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.annotation
            if type(value) is kind:
                return value
            if isinstance(value, str) and _PLAIN[kind].fullmatch(value):
                return kind(value)
            from typer._coercion import build_runtime_param

            return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)

    class _StrList(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return [os.fsdecode(v) if isinstance(v, bytes) else str(v) for v in value]

    class _Path(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if isinstance(value, Path):
                return value
            checked = coerce_cli_path(value, self.parameter_info, path_type=None,
                                      param=param, ctx=ctx)
            return Path(os.fsdecode(checked) if isinstance(checked, bytes) else checked)


# the texts whose int() / float() is pydantic's value for them (tests/unit/test_cli_coerce.py
# compares the two on random texts); pydantic also takes "1_000", " 3", "1.0" as an int ...
_PLAIN = {int: re.compile(r"[+-]?[0-9]+", re.ASCII),
          float: re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)}


def lighten(command: Any) -> None:
    """Convert the command's plain parameters (str, Path, bool, int, float, list of str)
    without pydantic."""
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
        elif desc.annotation in (int, float) and _unbounded(info):
            param._runtime_param = _Number(parameter_info=info, annotation=desc.annotation)
        elif desc.annotation == list[str]:
            param._runtime_param = _StrList(parameter_info=info, annotation=desc.annotation)


def _unbounded(info: Any) -> bool:
    """No min/max/clamp (Typer checks those in its conversion) and no custom click type."""
    return all(getattr(info, name, None) in (None, False)
               for name in ("min", "max", "clamp", "click_type"))
