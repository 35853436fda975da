"""evalcli/cli/coerce.py converts str, Path, bool, int, float and list-of-str values as Typer
does, without pydantic."""

from __future__ import annotations

import random
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
        count: Annotated[int | None, typer.Option("--count")] = None,
        ratio: Annotated[float, typer.Option("--ratio")] = 0.5,
        tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
        bounded: Annotated[int, typer.Option("--bounded", min=1, max=9)] = 1,
    ) -> None:
        seen.append((name, where, must, label, flag, count, ratio, tag, bounded))

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


def _outcome(light: bool, args: list[str]):
    seen.clear()
    try:
        _command(light).main(args, prog_name="probe", standalone_mode=False)
        error = None
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        error = (type(exc).__name__, str(exc))
    return error, [tuple((type(v), repr(v)) for v in values) for values in seen]  # nan == nan


# texts a user (or a script) might pass as a number, the odd ones included: every one must
# convert to Typer's value, or fail with Typer's message
NUMBER_TEXTS = ["3", "-3", "+3", "03", "0", "-0", "1_000", " 3", "3 ", "\t7\n", "1.0", "1.5",
                ".5", "5.", "-.5", "1e3", "1E-3", "-1e+2", "1e", "e3", "inf", "-inf", "nan",
                "Infinity", "0x10", "0b1", "1 000", "", " ", "abc", "12abc", "３", "١٢", "1,5",
                "9" * 40, "1e400", "--3", "+-3", "1__0", "_1", "1_", "0.1_5", "١.٥"]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "0123456789" * 3 + "+-._eE xX,\t" + "٣３"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7))) for _ in range(n)]


@pytest.mark.parametrize("option", ["--count", "--ratio", "--bounded"])
def test_numbers_are_typers_on_odd_and_random_texts(option):
    texts = NUMBER_TEXTS + _random_texts(300, seed=7)
    for text in texts:
        args = ["x", option, text]
        assert _outcome(True, args) == _outcome(False, args), (option, text)


def test_lists_of_text_are_typers():
    for args in (["x"], ["x", "--tag", "a"], ["x", "--tag", "a b", "--tag", "", "--tag", "a"]):
        assert _outcome(True, args) == _outcome(False, args), args


@pytest.mark.parametrize("args", CASES)
@pytest.mark.parametrize("env", [{}, {"PROBE_LABEL": "from-env", "PROBE_FLAG": "yes"}])
def test_values_and_errors_are_typers(args, env, tmp_path, monkeypatch):
    (tmp_path / "f.txt").write_text("x")
    args = [a.format(file=tmp_path / "f.txt", dir=tmp_path, missing=tmp_path / "no")
            for a in args]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    results = [_outcome(light, args) for light in (False, True)]
    assert results[0] == results[1]
    assert (results[1][0] is None) == (args[-1] not in (str(tmp_path), str(tmp_path / "no")))
    if results[1][0] is None:
        (where, _), (must, _) = results[1][1][0][1:3]
        assert issubclass(where, Path) and must in (type(None), Path, type(Path()))


def test_lightened_parameters_are_the_plain_ones():
    command = _command(True)
    light = {p.name for p in command.params if type(p._runtime_param).__module__ == "evalcli.cli.coerce"}
    assert light == {"name", "where", "must", "label", "flag", "count", "ratio", "tag"}
