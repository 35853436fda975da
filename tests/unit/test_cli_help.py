"""What `--help` tells and what the shell completes: stage names, and `evalcli completion`.

Completion is tested through the protocol the generated script uses: the shell runs evalcli
with `_EVALCLI_COMPLETE=complete_<shell>` and the words typed so far, and reads the
candidates from stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from evalcli.cli import COMMANDS, app
from evalcli.cli.common import STAGES
from evalcli.cli.completion import SHELLS
from evalcli.run.stage_names import LATER_STAGES
from tests.cli_inprocess import evalcli_here

ORDER = ("generate", *LATER_STAGES)


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_help_names_the_stages_in_their_order():
    assert tuple(STAGES.split(", ")) == ORDER  # the help's list is the pipeline's
    listed = ", ".join(ORDER)
    assert f"--to STAGE Last stage to run: one of {listed}." in _help("run")
    resume = _help("resume")
    for flag in ("--from", "--to", "--only"):
        assert f"{flag} STAGE" in resume and f"{flag} <str>" not in resume


@pytest.mark.parametrize("args", [["run", "--profile", "mock", "--to", "scores"],
                                  ["resume", "r1", "--from", "scores"],
                                  ["resume", "r1", "--only", "scores"]])
def test_an_unknown_stage_is_one_line_naming_the_valid_ones(args, tmp_path):
    code, out, err = evalcli_here(*args, "--runs-dir", tmp_path)
    assert code == 2, (out, err)
    assert err.strip().count("\n") == 0 and err.startswith("error: "), err
    assert "'scores'" in err and ", ".join(ORDER) in err


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_prints_the_script_for_each_shell(shell):
    code, out, err = evalcli_here("completion", shell)
    assert code == 0, err
    assert "_EVALCLI_COMPLETE=complete_" in out.replace(" ", "") or \
        "_EVALCLI_COMPLETE" in out, out
    assert f"complete_{shell}" in out, out


def test_completion_of_an_unknown_shell_is_one_line():
    code, out, err = evalcli_here("completion", "tcsh")
    assert code == 2 and err.strip().count("\n") == 0
    assert "'tcsh'" in err and ", ".join(SHELLS) in err


def _complete(words: str, shell: str = "bash") -> list[str]:
    env = {**os.environ, "_EVALCLI_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
    code = "import sys; sys.argv = ['evalcli']; from evalcli.__main__ import main; main()"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_the_shell_completes_command_names():
    assert _complete("evalcli r") == ["run", "runs", "resume"]
    assert "completion" in _complete("evalcli ")


def test_the_shell_completes_options_and_stage_names():
    assert {"--profile", "--to", "--runs-dir"} <= set(_complete("evalcli run --"))
    assert _complete("evalcli run --to s") == ["score", "stats"]
    assert _complete("evalcli resume x --from ") == list(ORDER)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_shows_readable_metavars(name):
    """N, PATH, TEXT, RUN_ID, STAGE — not Typer's `<int>`, `<list[Path]>`, `{run_id}` or
    `RUN_ID <str>`."""
    import re

    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    raw = re.findall(r"<(?:int|str|path|float|list\[[^\]]*\])[^>]*>|\{[A-Za-z_]+\}|x>=|x<=",
                     result.output)
    assert not raw, (name, raw)


def test_arguments_show_their_metavar_alone():
    show = CliRunner().invoke(app, ["show", "--help"]).output
    assert show.startswith("Usage: evalcli show [OPTIONS] RUN_ID\n")
    assert "\n  RUN_ID  The run id" in show
    assert "Usage: evalcli compare [OPTIONS] RUN...\n" in CliRunner().invoke(
        app, ["compare", "--help"]).output
