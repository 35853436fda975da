"""The CLI starts at once: a command imports only what it uses.

`import evalcli.cli` and the light commands (--help, stop, show, runs) must not pull in the
statistics (scipy, numpy), the engines or llama_cpp; checked in a fresh interpreter, where
sys.modules says exactly what was imported. benchmarks/bench_startup.py measures the time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from evalcli.cli import COMMANDS, app

HEAVY = ("scipy", "numpy", "llama_cpp", "httpx", "tiktoken", "engines", "ipc", "evalcli.science",
         "evalcli.report", "evalcli.run", "evalcli.doctor", "rich.live")
# what runs, show and stop need none of: Typer's pydantic conversion of their values either
LIGHT_HEAVY = (*HEAVY, "pydantic")
# what a --help needs none of: Typer's rich help (rich.markdown, markdown-it), the pydantic
# adapters Typer builds to coerce option values, the console commands print with
HELP_HEAVY = (*HEAVY, "pydantic", "typer.rich_utils", "rich.markdown", "markdown_it",
              "rich.console", "multiprocessing")

PROBE = """
import json, sys
argv = sys.argv[1:]
if argv:
    sys.argv = ["evalcli", *argv]
    from evalcli.__main__ import main
    try:
        main()
    except SystemExit:
        pass
else:
    import evalcli.cli
heavy = json.loads(sys.stdin.read())
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or
                        any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def _heavy_imported(args: list[str], cwd, heavy=HEAVY) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], input=json.dumps(heavy),
                          capture_output=True, text=True, cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_heavy_module(tmp_path):
    assert _heavy_imported([], tmp_path) == []


@pytest.mark.parametrize("args", [["--help"], *([name, "--help"] for name in COMMANDS)])
def test_help_imports_nothing_it_does_not_show(args, tmp_path):
    """Every --help (run's and compare's too) is Typer and the command's signature: no
    statistics, engines or pipeline, and no pydantic or rich.markdown from Typer itself."""
    assert _heavy_imported(args, tmp_path, HELP_HEAVY) == []


@pytest.mark.parametrize("args", [["runs"], ["show", "nope"], ["stop", "nope"]])
def test_light_commands_import_no_heavy_module(args, tmp_path):
    assert _heavy_imported(args, tmp_path, LIGHT_HEAVY) == []


def test_light_commands_on_a_real_run_import_no_heavy_module(tmp_path):
    """Listing, showing and stopping a run that has results: still no numpy (the results
    index of a small file is a dict), and no pydantic (Typer's conversion of a str or Path
    value: evalcli/cli/coerce.py)."""
    runs = tmp_path / "runs"
    made = subprocess.run([sys.executable, "-m", "evalcli", "run", "--profile", "mock",
                           "--limit-items", "2", "--runs-dir", str(runs), "--run-id", "r1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert made.returncode == 0, made.stderr
    for args in (["runs"], ["runs", "--json"], ["show", "r1"], ["show", "r1", "--json"],
                 ["stop", "r1"]):
        assert _heavy_imported([*args, "--runs-dir", str(runs)], tmp_path, LIGHT_HEAVY) == [], args


def test_heavy_modules_are_detected(tmp_path):
    """The probe can fail: planning a run needs the pipeline, which does import them, and a
    number written oddly (" 3") goes to Typer's own conversion, which imports pydantic."""
    found = _heavy_imported(["run", "--profile", "mock", "--plan-only", "--limit-items", " 3",
                             "--runs-dir", str(tmp_path / "runs")], tmp_path, HELP_HEAVY)
    assert {"evalcli.run", "pydantic", "rich.console"} <= set(found), found


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_working_help(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Usage:" in result.output


def test_root_help_lists_every_command_with_its_docstring():
    import importlib

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    for name, (module, function) in COMMANDS.items():
        doc = getattr(importlib.import_module(f"evalcli.cli.{module}"), function).__doc__
        first_sentence = " ".join(doc.split(". ")[0].split())  # whole: wrapped, never cut
        assert name in result.output and first_sentence in flat, (name, first_sentence)
    assert "..." not in result.output.split("Commands:")[1]


def test_help_text_is_shown_as_written():
    """Square brackets in a help text are text, not markup that vanishes."""
    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0, result.output
    assert "([stopping] defaults" in " ".join(result.output.split())


def test_a_mistyped_command_suggests_the_close_one():
    result = CliRunner().invoke(app, ["stpo"])
    assert result.exit_code != 0
    assert "stop" in result.output


# records how many results the run had written when the statistics were first imported
ORDER_PROBE = """
import glob, sys
runs = sys.argv[1]
class Hook:
    def find_spec(self, name, path=None, target=None):
        if name == "evalcli.science.stats" and not hasattr(sys, "_results_then"):
            sys._results_then = sum(len(open(f).read().splitlines())
                                    for f in glob.glob(runs + "/*/trials/*/results.jsonl"))
        return None
sys.meta_path.insert(0, Hook())
sys.argv = ["evalcli", "run", "--profile", "mock", "--limit-items", "2", "--runs-dir", runs]
from evalcli.__main__ import main
try:
    main()
except SystemExit:
    pass
print("results when the statistics were imported:", getattr(sys, "_results_then", None))
print("scipy.stats imported:", "scipy.stats" in sys.modules)
print("pydantic, httpx imported:", "pydantic" in sys.modules, "httpx" in sys.modules)
"""


def test_the_statistics_are_imported_after_the_units(tmp_path):
    """The statistics come with the stages that use them, after the units: the first unit
    does not wait for them (2 items x 2 conditions = 4 results). A whole run never imports
    scipy.stats (~0.5 s more than scipy.special: evalcli/science/stats/dist.py); a mock run
    given `--limit-items 2` imports no pydantic (Typer's conversion of the number:
    evalcli/cli/coerce.py) and no httpx (the HTTP and batch engines' client)."""
    proc = subprocess.run([sys.executable, "-c", ORDER_PROBE, str(tmp_path / "runs")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-3:] == [
        "results when the statistics were imported: 4", "scipy.stats imported: False",
        "pydantic, httpx imported: False False"]
