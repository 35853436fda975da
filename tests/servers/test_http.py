"""engines.http: retries, backoff, Retry-After, and the EngineError after the last try."""

from __future__ import annotations

import email.utils
import pickle
import time

import pytest
from conftest import FAST

from engines.base import EngineError
from engines.http import HttpError, HttpOptions, HttpSession, error_detail, retry_after_seconds


def session(url: str, **over) -> HttpSession:
    return HttpSession(url, HttpOptions(**(FAST | over)))


def test_ok_and_keepalive(ollama_server):
    s = session(ollama_server.url)
    for _ in range(3):
        assert s.request_json("GET", "/api/version") == {"version": "0.12.3"}
    s.close()
    assert len(ollama_server.calls("/api/version")) == 3


# A hang outlasts the client's timeout (the server releases it when the test ends); every
# request that must succeed gets a generous timeout, so a loaded machine cannot fail it.
HANG = {"seconds": 120}
HANG_TIMEOUT_S = 2.0
GENEROUS_S = 30.0


def _timeout_for(fault: str) -> float:
    return HANG_TIMEOUT_S if fault == "hang" else GENEROUS_S


@pytest.mark.parametrize(
    ("fault", "kw", "kind"),
    [
        ("status", {"status": 500}, "http_5xx"),
        ("status", {"status": 503}, "http_5xx"),
        ("status", {"status": 429}, "rate_limited"),
        ("drop", {}, "connection"),
        ("drop_mid", {}, "connection"),
        ("malformed", {}, "bad_response"),
        ("hang", HANG, "timeout"),
    ],
)
def test_transient_fault_is_retried_then_succeeds(ollama_server, fault, kw, kind):
    # the fault is classified as `kind` (seen on a session that does not retry) ...
    ollama_server.fault(fault, times=1, path="/api/version", **kw)
    once = session(ollama_server.url, timeout_s=_timeout_for(fault), max_retries=0)
    with pytest.raises(EngineError) as info:
        once.request_json("GET", "/api/version")
    assert info.value.kind == kind and info.value.retryable
    once.close()
    # ... and is retried: two faults, then the answer on the third try
    ollama_server.fault(fault, times=2, path="/api/version", **kw)
    s = session(ollama_server.url, timeout_s=_timeout_for(fault))
    assert s.request_json("GET", "/api/version")["version"] == "0.12.3"
    assert s.last_attempts == 3
    assert len(ollama_server.calls("/api/version")) == 1 + 3


@pytest.mark.parametrize(
    ("fault", "kw", "kind", "words"),
    [
        ("status", {"status": 500}, "http_5xx", "HTTP 500"),
        ("status", {"status": 429}, "rate_limited", "HTTP 429"),
        ("drop", {}, "connection", "connection dropped"),
        ("drop_mid", {}, "connection", "connection dropped"),
        ("malformed", {}, "bad_response", "malformed JSON"),
        ("hang", HANG, "timeout", f"no answer within {HANG_TIMEOUT_S:g} s"),
    ],
)
def test_persistent_fault_ends_in_engine_error(ollama_server, fault, kw, kind, words):
    ollama_server.fault(fault, times=10, path="/api/version", **kw)
    s = session(ollama_server.url, timeout_s=_timeout_for(fault))
    with pytest.raises(EngineError) as info:
        s.request_json("GET", "/api/version")
    err = info.value
    assert err.kind == kind and err.retryable
    assert words in str(err) and "gave up after 3 tries" in str(err)
    assert len(ollama_server.calls("/api/version")) == 3


def test_4xx_is_not_retried(ollama_server):
    ollama_server.fault("status", times=5, path="/api/chat", status=400, message="bad option")
    s = session(ollama_server.url)
    with pytest.raises(HttpError) as info:
        s.request_json("POST", "/api/chat", json={})
    assert info.value.status == 400 and info.value.kind == "http_4xx"
    assert not info.value.retryable
    assert "bad option" in str(info.value)
    assert len(ollama_server.calls("/api/chat")) == 1


def test_connection_refused(dead_url):
    s = session(dead_url)
    with pytest.raises(HttpError) as info:
        s.request_json("GET", "/api/version")
    assert info.value.kind == "connection" and info.value.status == 0
    assert "gave up after 3 tries" in str(info.value)


def test_retry_after_seconds_is_honoured(ollama_server):
    ollama_server.fault("status", path="/api/version", status=429, retry_after="1")
    s = session(ollama_server.url)
    started = time.monotonic()
    s.request_json("GET", "/api/version")
    assert time.monotonic() - started >= 0.95


def test_retry_after_http_date_is_honoured(ollama_server):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    ollama_server.fault("status", path="/api/version", status=503, retry_after=when)
    s = session(ollama_server.url)
    slept: list[float] = []
    s.sleep = slept.append
    s.request_json("GET", "/api/version")
    assert len(slept) == 1 and 27 <= slept[0] <= 30.5


def test_backoff_grows_and_is_jittered(ollama_server):
    ollama_server.fault("status", times=3, path="/api/version", status=500)
    s = session(ollama_server.url, max_retries=3, backoff_s=1.0, backoff_max_s=100.0)
    slept: list[float] = []
    s.sleep = slept.append
    s.request_json("GET", "/api/version")
    assert len(slept) == 3
    for i, value in enumerate(slept):
        assert 0.5 * 2**i <= value <= 2**i


def test_retry_after_parsing():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert retry_after_seconds(past) == 0.0


def test_error_detail_shapes():
    assert error_detail(b'{"error": "model not found"}') == "model not found"
    assert error_detail(b'{"error": {"message": "bad key", "type": "x"}}') == "bad key"
    assert error_detail(b"<html>oops</html>") == "<html>oops</html>"


def test_secrets_are_scrubbed_and_errors_pickle(ollama_server):
    ollama_server.fault("status", path="/x", status=400, message="key sk-SECRET-123 rejected")
    s = HttpSession(ollama_server.url, HttpOptions(**FAST), secrets=["sk-SECRET-123"])
    with pytest.raises(HttpError) as info:
        s.request_json("GET", "/x")
    assert "sk-SECRET-123" not in str(info.value) and "***" in str(info.value)
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.kind, again.status, again.retryable) == ("http_4xx", 400, False)


def test_options_validation():
    import msgspec

    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"max_retries": -1}, HttpOptions)


def test_environment_proxy_never_applies_to_loopback(ollama_server, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    assert session(ollama_server.url).request_json("GET", "/api/version")["version"]
