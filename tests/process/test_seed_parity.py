"""What users of the predecessor reach for: `run --archive` (and `resume --archive`), and their
old YAML config."""

from __future__ import annotations

import zipfile

import pytest

from tests.helpers import evalcli, write_profile

PREDECESSOR_YAML = """\
# config/eval_config.local.llamacpp.yaml
model_id: llama3.1-8b-instruct-q4_k_m.gguf
backend: local
local_engine: llama_cpp
local_model: C:/models/llama3.1-8b-instruct-q4_k_m.gguf
temps: [0.0]
samples_per_item:
  "0.0": 1
"""


def test_run_archive_leaves_an_archive_that_verifies(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=1)
    result = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir",
                     tmp_path / "runs", "--run-id", "arch", "--archive", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    archive = tmp_path / "arch.evalcli.zip"
    assert f"→ {archive}" in result.stdout and f"evalcli verify {archive}" in result.stdout
    with zipfile.ZipFile(archive) as zf:
        assert any(name.endswith("run.json") for name in zf.namelist())
    verified = evalcli("verify", archive)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_run_archive_keeps_the_exit_status_of_failed_units(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"fail_on": ["closed"]})
    result = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir",
                     tmp_path / "runs", "--run-id", "bad", "--archive", cwd=tmp_path)
    assert result.returncode == 5, result.stderr  # units failed, still archived
    assert "units failed" in result.stderr
    assert evalcli("verify", tmp_path / "bad.evalcli.zip").returncode == 0


def test_resume_archive_packs_the_finished_run_and_not_a_refused_one(tmp_path):
    """A run interrupted before its later stages, finished by `resume --archive`: archived
    with the report; a resume refused (no such run) archives nothing."""
    profile = write_profile(tmp_path / "p.toml", workers=1)
    runs = tmp_path / "runs"
    first = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir", runs,
                    "--run-id", "half", "--to", "parse", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    result = evalcli("resume", "half", "--runs-dir", runs, "--archive", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    archive = tmp_path / "half.evalcli.zip"
    assert f"→ {archive}" in result.stdout
    with zipfile.ZipFile(archive) as zf:
        assert "half/report.md" in zf.namelist()
    assert evalcli("verify", archive).returncode == 0
    refused = evalcli("resume", "nope", "--runs-dir", runs, "--archive", cwd=tmp_path)
    assert refused.returncode == 4 and refused.stderr.startswith("error: no run 'nope'")
    assert not (tmp_path / "nope.evalcli.zip").exists()


@pytest.mark.parametrize("name", ["eval_config.local.yaml", "old.yml", "eval_config.conf"])
def test_a_yaml_config_gets_one_line_pointing_to_the_migration(tmp_path, name):
    config = tmp_path / name
    config.write_text(PREDECESSOR_YAML, encoding="utf-8")
    result = evalcli("run", "--profile", config, "--runs-dir", tmp_path / "runs")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {config}: this is a YAML config")
    assert "profiles are TOML" in line and 'docs/profiles.md, "From a YAML config"' in line
    assert not (tmp_path / "runs").exists()
