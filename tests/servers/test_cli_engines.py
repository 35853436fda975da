"""The whole `evalcli run` pipeline on each HTTP engine, against loopback servers that speak
the engines' documented wire formats (started and stopped by the tests)."""

from __future__ import annotations

import json

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile

FAST = {"max_retries": 1, "backoff_s": 0.001, "backoff_max_s": 0.005, "timeout_s": 5.0}


def _run(tmp_path, profile, *extra, env=None):
    return evalcli("run", "--profile", profile, "--limit-items", "3", "--runs-dir",
                   tmp_path / "runs", "--run-id", "h", *extra, env=env)


def _rows(tmp_path):
    [trial] = trial_dirs(tmp_path / "runs" / "h")
    return read_csv(trial / "predictions.csv")


def test_ollama_engine_end_to_end(tmp_path, ollama_server):
    profile = write_profile(tmp_path / "p.toml", engine="ollama", workers=3,
                            options={"model": "llama3.1:8b", "base_url": ollama_server.url,
                                     **FAST})
    result = _run(tmp_path, profile)
    assert result.returncode == 0, result.stderr
    assert "using 1 worker(s) instead of 3" in result.stdout  # OLLAMA_NUM_PARALLEL default
    rows = _rows(tmp_path)
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    assert all(int(r["prompt_tokens"]) > 0 for r in rows)


def test_dead_ollama_server_writes_nothing(tmp_path, dead_url):
    profile = write_profile(tmp_path / "p.toml", engine="ollama",
                            options={"model": "llama3.1:8b", "base_url": dead_url, **FAST})
    result = _run(tmp_path, profile)
    assert result.returncode == 3
    assert "ollama serve" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # no run, and certainly no empty predictions


def test_missing_ollama_model_says_how_to_pull(tmp_path, ollama_server):
    profile = write_profile(tmp_path / "p.toml", engine="ollama",
                            options={"model": "qwen3:4b", "base_url": ollama_server.url, **FAST})
    result = _run(tmp_path, profile)
    assert result.returncode == 3 and "ollama pull qwen3:4b" in result.stderr


def test_openai_engine_fleet_end_to_end(tmp_path, openai_server):
    profile = write_profile(tmp_path / "p.toml", engine="openai", workers=2,
                            options={"model": "demo",
                                     "base_urls": [openai_server.url, openai_server.url + "/v1"],
                                     **FAST})
    result = _run(tmp_path, profile)
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path)
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)


def test_fireworks_batch_end_to_end_and_resume_reattaches(tmp_path, fireworks_server):
    profile = write_profile(tmp_path / "p.toml", engine="fireworks_batch",
                            options={"model": "accounts/fireworks/models/demo",
                                     "account_id": fireworks_server.account,
                                     "base_url": fireworks_server.url,
                                     "api_key_env": "FW_KEY", "poll_interval_s": 0.01, **FAST})
    env = {"FW_KEY": fireworks_server.api_key}
    result = _run(tmp_path, profile, env=env)
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path)
    assert len(rows) == 6 and len({r["custom_id"] for r in rows}) == 6
    manifest = json.loads((tmp_path / "runs" / "h" / "run.json").read_text())
    assert [job["status"] for job in manifest["batch"]["jobs"]] == ["done"]
    assert fireworks_server.api_key not in (tmp_path / "runs" / "h" / "run.json").read_text()
    jobs_before = len(fireworks_server.jobs)
    again = evalcli("resume", "h", "--runs-dir", tmp_path / "runs", env=env)
    assert again.returncode == 0, again.stderr
    assert len(fireworks_server.jobs) == jobs_before  # nothing submitted twice
