"""Everyday CLI conventions: --version, -h, environment defaults, files a colleague can read."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from tests.helpers import evalcli


def test_version_and_short_help():
    version = evalcli("--version")
    assert version.returncode == 0 and version.stdout.startswith("evalcli ")
    for args in (["-h"], ["run", "-h"], ["gate", "-h"], ["show", "-h"]):
        result = evalcli(*args)
        assert result.returncode == 0 and result.stdout.startswith("Usage: "), args
        assert "--help" in result.stdout and "-h" in result.stdout, args


def test_environment_defaults_for_the_runs_folder_and_the_profile(tmp_path):
    env = {"EVALCLI_RUNS_DIR": str(tmp_path / "elsewhere"), "EVALCLI_PROFILE": "mock"}
    result = evalcli("run", "--limit-items", "2", "--run-id", "e", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "e" / "run.json").is_file()
    assert not (tmp_path / "runs").exists()
    listed = evalcli("runs", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and " e " in listed.stdout
    # a flag still wins over the environment
    other = evalcli("runs", "--runs-dir", tmp_path / "none", cwd=tmp_path, env=env)
    assert " e " not in other.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX mode bits")
def test_files_are_written_with_the_users_umask(tmp_path):
    code = ("import os, sys; os.umask(0o022); sys.argv = ['evalcli', *sys.argv[1:]]\n"
            "from evalcli.__main__ import main; main()")
    import subprocess

    result = subprocess.run([sys.executable, "-c", code, "run", "--profile", "mock",
                             "--limit-items", "2", "--runs-dir", str(tmp_path), "--run-id", "u"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "u"
    written = [run / "report.md", run / "report.html", run / "run.json",
               *run.glob("trials/*/predictions.csv"), *run.glob("trials/*/significance.json")]
    for path in written:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o644, (path.name, oct(mode))
    # no temp file of an atomic write is left behind
    assert not list(run.rglob(".*.tmp"))


def test_resume_of_a_finished_run_says_there_was_nothing_to_do(tmp_path):
    runs = tmp_path / "runs"
    first = evalcli("run", "--profile", "mock", "--limit-items", "2", "--runs-dir", runs,
                    "--run-id", "f")
    assert first.returncode == 0, first.stderr
    again = evalcli("resume", "f", "--runs-dir", runs)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    (runs / "f" / "report.md").unlink()  # a stage has work again: not "nothing to do"
    redo = evalcli("resume", "f", "--runs-dir", runs)
    assert redo.returncode == 0 and "nothing to do" not in redo.stdout, redo.stdout
    assert (runs / "f" / "report.md").is_file()
