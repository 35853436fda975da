"""Token counts for rows an engine left uncounted: tiktoken only from a verified cache, never
a download (the network is blocked in these tests), else the documented estimate."""

from __future__ import annotations

import hashlib
import socket

import pytest

from engines.base import ChatMessage
from evalcli.science import tokens
from evalcli.science.tokens import (
    TokenCounter,
    estimate_tokens,
    fill_counts,
    needs_count,
    tiktoken_cached,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    tokens._tiktoken_encoder.cache_clear()
    yield
    tokens._tiktoken_encoder.cache_clear()


def _no_get_encoding(monkeypatch):
    tiktoken = pytest.importorskip("tiktoken")
    monkeypatch.setattr(tiktoken, "get_encoding",
                        lambda name: pytest.fail("get_encoding called without a cached vocabulary"))


def test_not_cached_means_estimate_and_tiktoken_is_never_called(monkeypatch):
    _no_get_encoding(monkeypatch)
    counter = TokenCounter()
    assert counter.source == "estimate"
    assert counter.count("abcdefghi") == 3 == estimate_tokens("abcdefghi")
    assert counter.count("") == 0


def test_a_corrupt_cache_file_is_not_trusted(monkeypatch, tmp_path):
    # tiktoken would delete it and download again: evalcli must not hand it over
    _no_get_encoding(monkeypatch)
    path = tokens.tiktoken_cache_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a vocabulary\n")
    assert path.name == hashlib.sha1(tokens._VOCABULARIES["cl100k_base"][0].encode()).hexdigest()
    assert not tiktoken_cached()
    assert TokenCounter().source == "estimate"


def test_empty_cache_dir_switches_tiktoken_off(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tokens.tiktoken_cache_file() is None and not tiktoken_cached()


def test_a_verified_cache_file_selects_tiktoken(monkeypatch):
    """A stand-in vocabulary file whose sha256 is registered as the expected one: the file
    check passes, so tiktoken's get_encoding is used (here returning a real byte-level
    tiktoken Encoding, since the real vocabulary cannot be fetched offline)."""
    tiktoken = pytest.importorskip("tiktoken")
    path = tokens.tiktoken_cache_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stand-in vocabulary\n")
    url = tokens._VOCABULARIES["cl100k_base"][0]
    monkeypatch.setitem(tokens._VOCABULARIES, "cl100k_base",
                        (url, hashlib.sha256(path.read_bytes()).hexdigest()))
    byte_level = tiktoken.Encoding(name="bytes", pat_str=r"\S+|\s+",
                                   mergeable_ranks={bytes([i]): i for i in range(256)},
                                   special_tokens={})
    calls = []
    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: calls.append(name) or byte_level)
    counter = TokenCounter()
    assert counter.source == "tiktoken" and calls == ["cl100k_base"]
    assert counter.count("héllo") == 6  # six UTF-8 bytes, one token each


def test_fill_counts_keeps_engine_counts_and_fills_missing_ones():
    counter = TokenCounter(use_tiktoken=False)
    prompt = [ChatMessage("system", "p" * 19), ChatMessage("user", "p" * 20)]  # + "\n": 40
    asked = []

    def messages():
        asked.append(1)
        return prompt

    assert not needs_count("ok", 10, 2)
    assert fill_counts("ok", 10, 2, "x", messages, counter) == (10, 2, "engine")
    assert asked == []  # the prompt is rendered only when it is counted
    assert needs_count("ok", -1, -1)
    assert fill_counts("ok", -1, -1, "Paris is it", messages, counter) == (10, 3, "estimate")
    assert fill_counts("ok", 12, -1, "Paris is it", messages, counter) == (12, 3, "estimate")
    assert needs_count("failed", 0, 0)
    assert fill_counts("failed", 0, 0, "", messages, counter) == (10, 0, "estimate")
