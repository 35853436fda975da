"""evalcli/cli/coerce.py converts str, Path and bool values as Typer does, without pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer

from evalcli.cli.coerce import lighten

seen: list[tuple] = []


def _command(light: bool):
    def probe(
        name: Annotated[str, typer.Argument()],
        where: Annotated[Path, typer.Option("--where")] = Path("runs"),
        must: Annotated[Path | None, typer.Option("--must", exists=True, dir_okay=False)] = None,
        label: Annotated[str | None, typer.Option("--label", envvar="PROBE_LABEL")] = None,
        flag: Annotated[bool, typer.Option("--flag", envvar="PROBE_FLAG")] = False,
    ) -> None:
        seen.append((name, where, must, label, flag))

    app = typer.Typer(add_completion=False, rich_markup_mode=None)
    app.command()(probe)
    command = typer.main.get_command(app)
    if light:
        lighten(command)
    return command


CASES = [
    ["x"],
    ["x", "--where", "a/b", "--label", "L"],
    ["x y", "--where", "", "--flag"],
    ["x", "--must", "{file}"],
    ["x", "--must", "{dir}"],  # a folder where a file is wanted: Typer's error
    ["x", "--must", "{missing}"],  # does not exist: Typer's error
]


@pytest.mark.parametrize("args", CASES)
@pytest.mark.parametrize("env", [{}, {"PROBE_LABEL": "from-env", "PROBE_FLAG": "yes"}])
def test_values_and_errors_are_typers(args, env, tmp_path, monkeypatch):
    (tmp_path / "f.txt").write_text("x")
    args = [a.format(file=tmp_path / "f.txt", dir=tmp_path, missing=tmp_path / "no")
            for a in args]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    results = []
    for light in (False, True):
        seen.clear()
        try:
            _command(light).main(args, prog_name="probe", standalone_mode=False)
            error = None
        except Exception as exc:  # noqa: BLE001 - the error itself is compared
            error = (type(exc).__name__, str(exc))
        results.append((error, list(seen)))
    assert results[0] == results[1]
    assert (results[1][0] is None) == (args[-1] not in (str(tmp_path), str(tmp_path / "no")))
    if results[1][0] is None:
        values = results[1][1][0]
        assert isinstance(values[1], Path) and (values[2] is None or isinstance(values[2], Path))


def test_lightened_parameters_are_the_plain_ones():
    command = _command(True)
    light = {p.name for p in command.params if type(p._runtime_param).__module__ == "evalcli.cli.coerce"}
    assert light == {"name", "where", "must", "label", "flag"}
