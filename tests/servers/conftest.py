"""Fixtures for the HTTP engine tests: loopback servers started and stopped per test,
fast retry options, and small request builders."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import FakeFireworks, FakeOllama, FakeOpenAI  # noqa: E402

from engines.base import ChatMessage, Request, SamplingParams  # noqa: E402

# Tiny backoffs so the fault tests stay fast.
FAST = {"max_retries": 2, "backoff_s": 0.001, "backoff_max_s": 0.005, "timeout_s": 2.0,
        "connect_timeout_s": 1.0}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/servers" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.server)


@pytest.fixture
def ollama_server():
    with FakeOllama() as server:
        yield server


@pytest.fixture
def openai_server():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fireworks_server():
    with FakeFireworks() as server:
        yield server


@pytest.fixture
def dead_url():
    """A loopback URL nothing listens on (port bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_request(unit_id: str = "sample|q1|control|0.0|0|open", *, system: str = "Be brief.",
                 user: str = "What is 2+2?", **params) -> Request:
    values = {"temperature": 0.0, "top_p": 1.0, "top_k": 40, "max_tokens": 48, "seed": 1234,
              "stop": [], "repeat_penalty": 1.0}
    values.update(params)
    return Request(unit_id=unit_id,
                   messages=[ChatMessage("system", system), ChatMessage("user", user)],
                   params=SamplingParams(**values))


@pytest.fixture
def request_factory():
    return make_request
