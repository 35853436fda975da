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


# -- issue 26: every server behaviour that ever carried the key back, and every place it
#    could land (run files, the archive made without the key's variable, stdout, stderr) --

def _windows(secret: str) -> list[str]:
    return [secret[i:i + 8] for i in range(len(secret) - 7)]


def _leaks(secret: str, texts: dict[str, bytes]) -> list[str]:
    """'where: piece' for the key or any 8-character window of it found in any text."""
    pieces = [secret, *_windows(secret)]
    return [f"{where}: {piece!r}" for where, data in texts.items() for piece in pieces
            if piece.encode() in data]


def _everything(result, root: Path, archive: Path | None = None) -> dict[str, bytes]:
    import zipfile

    texts = {"stdout": result.stdout.encode(), "stderr": result.stderr.encode()}
    if root.exists():
        texts.update({str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()})
    if archive is not None and archive.exists():
        with zipfile.ZipFile(archive) as zf:
            texts.update({f"{archive.name}:{n}": zf.read(n) for n in zf.namelist()})
    return texts


BEHAVIOURS = {
    # HTTP 200 whose body is an error that repeats the header it was sent
    "error_200": lambda s, key: s.fault("status", status=200, times=100,
                                        path="/v1/chat/completions",
                                        message=f"denied: Authorization=Bearer {key}"),
    # a long 4xx body: the key straddles the 300-character cut
    "long_4xx": lambda s, key: s.fault("status", status=400, times=100,
                                       path="/v1/chat/completions",
                                       message="x " * 130 + f"Authorization=Bearer {key} end"),
    # 5xx bodies echoing the header, retried, then given up
    "echo_5xx": lambda s, key: s.fault("status", status=503, times=100,
                                       path="/v1/chat/completions",
                                       message=f"upstream saw Authorization: Bearer {key}"),
    # the model's answer repeats the key (whole, and a 12-character piece of it)
    "answer": lambda s, key: setattr(s, "chat_override", {
        "id": f"id-{key[:12]}", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant",
                                 "content": f"my key is {key} and {key[5:17]}"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}),
    # a key pasted with its trailing newline: stripped with a warning, the run works
    "newline": lambda s, key: None,
}


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_no_piece_of_the_key_anywhere(tmp_path, openai_server, behaviour):
    BEHAVIOURS[behaviour](openai_server, SECRET)
    profile = write_profile(tmp_path / "p.toml", engine="openai", workers=1,
                            options={"model": "demo", "base_url": openai_server.url,
                                     "api_key_env": "EVALCLI_TEST_KEY", **FAST},
                            run={"max_consecutive_failures": 0})
    runs = tmp_path / "runs"
    value = SECRET + "\n" if behaviour == "newline" else SECRET
    result = evalcli("run", "--profile", profile, "--limit-items", "2", "--runs-dir", runs,
                     "--run-id", "k", env={"EVALCLI_TEST_KEY": value})
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 5), result.stderr
    sent = {r.headers.get("authorization") for r in openai_server.requests}
    assert sent == {f"Bearer {SECRET}"}  # the key (newline stripped) really went out
    if behaviour == "newline":
        assert result.returncode == 0 and "ends with a newline" in result.stdout
    run_json = json.loads((runs / "k" / "run.json").read_text())
    assert run_json["secrets"]["windows"]  # the fingerprint, recorded at the start
    # something that escaped the scrubber (a planted line): the archive still cuts it, in a
    # shell where the key's variable is not set
    with open(runs / "k" / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "planted", "a": SECRET, "b": SECRET[9:19]}) + "\n")
    archive = tmp_path / "k.evalcli.zip"
    packed = evalcli("archive", "k", "--runs-dir", runs, "--out", archive)
    assert packed.returncode == 0, packed.stderr
    assert "secret value was cut out of: events.jsonl" in packed.stdout
    texts = _everything(result, runs, archive)
    texts = {k: v for k, v in texts.items() if not k.endswith("events.jsonl")
             or k.startswith(archive.name)}  # the planted line itself is in the run folder
    assert _leaks(SECRET, texts) == []
    if behaviour != "newline":
        rows = read_csv(trial_dirs(runs / "k")[0] / "predictions.csv")
        assert any("***" in r["error"] + r["response_text"] for r in rows)


@pytest.mark.parametrize("bad", ["é", " x", "\tx", "\x00x", "\r\nmore"])
def test_a_key_that_cannot_be_sent_is_one_line_exit_2(tmp_path, openai_server, bad):
    profile = write_profile(tmp_path / "p.toml", engine="openai", workers=1,
                            options={"model": "demo", "base_url": openai_server.url,
                                     "api_key_env": "EVALCLI_TEST_KEY", **FAST})
    key = SECRET + bad if bad[0] != "\x00" else SECRET + "x"
    env = {"EVALCLI_TEST_KEY": key}
    if bad[0] == "\x00":  # a NUL cannot be put in an environment: a DEL instead
        env = {"EVALCLI_TEST_KEY": SECRET + "\x7f"}
    for command in ("run", "doctor"):
        result = evalcli(command, "--profile", profile, "--runs-dir", tmp_path / "runs",
                         env=env)
        assert "Traceback" not in result.stderr, result.stderr
        assert _leaks(SECRET, _everything(result, tmp_path / "runs")) == []
        if command == "run":
            assert result.returncode == 2, result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert "EVALCLI_TEST_KEY" in result.stderr and "not shown" in result.stderr
    assert not (tmp_path / "runs").exists()
    assert not openai_server.requests


def test_a_model_list_that_repeats_the_key_is_scrubbed(tmp_path, openai_server):
    openai_server.models = [f"leak-{SECRET}", f"half-{SECRET[:20]}"]  # "demo" not served
    profile = write_profile(tmp_path / "p.toml", engine="openai", workers=1,
                            options={"model": "demo", "base_url": openai_server.url,
                                     "api_key_env": "EVALCLI_TEST_KEY", **FAST})
    for command in ("run", "doctor"):
        result = evalcli(command, "--profile", profile, "--runs-dir", tmp_path / "runs",
                         env={"EVALCLI_TEST_KEY": SECRET})
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert "leak-***" in result.stdout + result.stderr
        assert _leaks(SECRET, _everything(result, tmp_path / "runs")) == []
