"""A secret never reaches the terminal or the run directory, on every path that handles one:
the key from the environment (sent, and echoed back by a server in error bodies), a key
pasted where the variable's name belongs, and credentials in a URL. Plus: the HTTP request
timeout stays below the unit timeout, so a slow request is retried, not killed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile

SECRET = "sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
FAST = {"max_retries": 1, "backoff_s": 0.001, "backoff_max_s": 0.005, "timeout_s": 5.0}


def _assert_nowhere(secret: str, result, root: Path) -> None:
    assert secret not in result.stdout and secret not in result.stderr
    if root.exists():
        for path in root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_env_key_echoed_by_the_server_is_never_written(tmp_path, openai_server):
    # the server answers every chat request with an error body that repeats the credentials
    openai_server.fault("status", status=500, times=6, path="/v1/chat",
                        message=f"upstream rejected Authorization: Bearer {SECRET}")
    openai_server.fault("status", status=400, times=100, path="/v1/chat/completions",
                        message=f"bad request from key {SECRET}")
    profile = write_profile(tmp_path / "p.toml", engine="openai", workers=1,
                            options={"model": "demo", "base_url": openai_server.url,
                                     "api_key_env": "EVALCLI_TEST_KEY", **FAST},
                            run={"max_consecutive_failures": 0})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir", runs,
                     "--run-id", "s", env={"EVALCLI_TEST_KEY": SECRET})
    assert result.returncode == 5, result.stderr  # every unit failed: never exit 0
    sent = [r.headers.get("authorization") for r in openai_server.requests]
    assert f"Bearer {SECRET}" in sent  # the key really went over the wire
    rows = read_csv(trial_dirs(runs / "s")[0] / "predictions.csv")
    assert rows and all(r["status"] == "failed" for r in rows)
    assert any("***" in r["error"] for r in rows)  # the echo was there, and scrubbed
    _assert_nowhere(SECRET, result, runs)


def test_key_pasted_as_the_variable_name_is_refused_without_echo(tmp_path, openai_server):
    profile = write_profile(tmp_path / "p.toml", engine="openai",
                            options={"model": "demo", "base_url": openai_server.url,
                                     "api_key_env": SECRET, **FAST})
    result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "api_key_env" in result.stderr and "looks like a key" in result.stderr
    _assert_nowhere(SECRET, result, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    assert not openai_server.requests  # refused before anything was sent


@pytest.mark.parametrize("form", ["userinfo", "query"])
@pytest.mark.parametrize("engine", ["openai", "ollama"])
def test_credentials_in_the_url_are_refused_without_echo(tmp_path, openai_server, form,
                                                         engine):
    host = openai_server.url.removeprefix("http://")
    url = f"http://user:{SECRET}@{host}" if form == "userinfo" else \
        f"http://{host}/v1?api_key={SECRET}"
    profile = write_profile(tmp_path / "p.toml", engine=engine,
                            options={"model": "demo", "base_url": url, **FAST})
    for command in (("run", "--profile", profile, "--runs-dir", tmp_path / "runs"),
                    ("doctor", "--profile", profile, "--runs-dir", tmp_path / "runs")):
        result = evalcli(*command)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert "must not carry credentials" in result.stdout + result.stderr
        _assert_nowhere(SECRET, result, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    assert not openai_server.requests


def test_request_timeout_below_the_unit_timeout_retries_a_slow_request(tmp_path,
                                                                       openai_server):
    openai_server.fault("hang", seconds=3.0, path="/v1/chat/completions")  # the first request
    profile = write_profile(tmp_path / "p.toml", engine="openai", workers=1,
                            options={"model": "demo", "base_url": openai_server.url,
                                     "max_retries": 2, "backoff_s": 0.001,
                                     "timeout_s": 600.0},
                            run={"unit_timeout_s": 4.0})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir", runs,
                     "--run-id", "slow")
    assert result.returncode == 0, result.stderr
    assert "timeout_s lowered from 600 to 2 s" in result.stdout
    events = (runs / "slow" / "events.jsonl").read_text().splitlines()
    assert not [e for e in events if json.loads(e)["event"] == "unit_timeout"]
    rows = read_csv(trial_dirs(runs / "slow")[0] / "predictions.csv")
    assert {r["status"] for r in rows} == {"ok"}
    assert max(int(r["attempts"]) for r in rows) == 1  # retried inside the unit, not killed
    chats = [r for r in openai_server.requests if r.path == "/v1/chat/completions"]
    assert len(chats) == 3  # the slow one, its retry, and the second unit
