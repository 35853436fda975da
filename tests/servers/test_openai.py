"""OpenAIEngine against loopback servers speaking the OpenAI chat-completions format."""

from __future__ import annotations

import msgspec
import pytest
from conftest import FAST, make_request
from loopback import FakeOpenAI

from engines import engine_class
from engines.base import EngineError, EngineLoadError
from engines.openai import OpenAIEngine, OpenAIOptions, normalize_base_url

SECRET = "sk-test-abcdef0123456789"


def options(url: str | None = None, **over) -> OpenAIOptions:
    base = {"model": "demo"} | ({"base_url": url} if url else {})
    return msgspec.convert(FAST | base | over, OpenAIOptions)


def test_registry_resolves():
    assert engine_class("openai") is OpenAIEngine


def test_standard_parameters_on_the_wire(openai_server):
    engine = OpenAIEngine(options(openai_server.url), 0)
    engine.generate(make_request(temperature=0.3, top_p=0.8, top_k=7, max_tokens=21, seed=5,
                                 stop=["\n"], repeat_penalty=1.2))
    body = openai_server.calls("/v1/chat/completions")[0].json
    assert body == {
        "model": "demo",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "What is 2+2?"}],
        "temperature": 0.3, "top_p": 0.8, "max_tokens": 21, "seed": 5, "n": 1,
        "stream": False, "stop": ["\n"],
    }


def test_extra_sampling_only_when_asked(openai_server):
    engine = OpenAIEngine(options(openai_server.url, send_extra_sampling=True,
                                  max_tokens_field="max_completion_tokens"), 0)
    engine.generate(make_request(top_k=7, repeat_penalty=1.2))
    body = openai_server.calls("/v1/chat/completions")[0].json
    assert body["top_k"] == 7 and body["repeat_penalty"] == 1.2
    assert body["max_completion_tokens"] == 48 and "max_tokens" not in body
    assert "stop" not in body  # empty stop list is not sent


def test_response_mapping(openai_server):
    c = OpenAIEngine(options(openai_server.url), 0).generate(make_request())
    assert c.text == "echo: What is 2+2?"
    assert c.finish_reason == "stop"
    assert c.request_id == "chatcmpl-a-1"
    assert c.prompt_tokens > 0 and c.completion_tokens == 3
    assert c.latency_ms > 0


def test_llama_server_timings_and_cached_tokens(openai_server):
    openai_server.chat_override = {
        "id": "x", "choices": [{"message": {"content": "hi"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2,
                  "prompt_tokens_details": {"cached_tokens": 8}},
        "timings": {"prompt_ms": 1.5, "predicted_ms": 3.0, "cache_n": 8, "prompt_n": 2},
    }
    c = OpenAIEngine(options(openai_server.url), 0).generate(make_request())
    assert c.finish_reason == "length"
    assert c.timings["cached_prompt_tokens"] == 8 and c.timings["prompt_ms"] == 1.5


def test_missing_usage_is_unknown(openai_server):
    openai_server.chat_override = {"id": "x", "choices": [
        {"message": {"content": "hi"}, "finish_reason": "stop"}]}
    c = OpenAIEngine(options(openai_server.url), 0).generate(make_request())
    assert (c.prompt_tokens, c.completion_tokens) == (-1, -1)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"error": {"message": "context length exceeded"}}, "context length exceeded"),
        ({"choices": []}, "no choices"),
        ({"choices": [{"message": {"content": None}, "finish_reason": "tool_calls"}]},
         "no message content"),
    ],
)
def test_bad_answers_raise(openai_server, answer, words):
    openai_server.chat_override = answer
    with pytest.raises(EngineError, match=words):
        OpenAIEngine(options(openai_server.url), 0).generate(make_request())


@pytest.mark.parametrize("url_form", ["{u}", "{u}/", "{u}/v1", "{u}/v1/"])
def test_base_url_with_or_without_v1(openai_server, url_form):
    url = url_form.format(u=openai_server.url)
    assert normalize_base_url(url) == openai_server.url
    OpenAIEngine(options(url), 0).generate(make_request())
    assert openai_server.calls("/v1/chat/completions")


def test_fleet_spreads_workers_over_base_urls():
    servers = [FakeOpenAI(name=n).start() for n in "abc"]
    try:
        opts = options(None, base_urls=[s.url for s in servers])
        engines = [OpenAIEngine(opts, i) for i in range(6)]
        for engine in engines:
            engine.generate(make_request())
        assert [len(s.calls("/v1/chat/completions")) for s in servers] == [2, 2, 2]
        assert engines[4].base_url == servers[1].url
        assert engines[4].describe()["fleet_size"] == "3"
        warnings = OpenAIEngine.preflight(opts, workers=6)  # every server checked
        assert len(warnings) == 1 and "send_extra_sampling" in warnings[0]
        assert all(len(s.calls("/v1/models")) == 1 for s in servers)
    finally:
        for s in servers:
            s.stop()


def test_options_need_exactly_one_url_form():
    with pytest.raises(msgspec.ValidationError, match="exactly one"):
        options(None)
    with pytest.raises(msgspec.ValidationError, match="exactly one"):
        options("http://127.0.0.1:1", base_urls=["http://127.0.0.1:2"])


# -- API key ---------------------------------------------------------------------------------

def test_api_key_sent_but_never_shown(monkeypatch):
    monkeypatch.setenv("EVALCLI_TEST_KEY", SECRET)
    with FakeOpenAI(api_key=SECRET) as server:
        opts = options(server.url, api_key_env="EVALCLI_TEST_KEY")
        warnings = OpenAIEngine.preflight(opts, workers=1)
        assert all(SECRET not in w for w in warnings)
        engine = OpenAIEngine(opts, 0)
        engine.generate(make_request())
        assert server.calls("/v1/chat/completions")[0].headers["authorization"] == f"Bearer {SECRET}"
        facts = engine.describe()
        assert SECRET not in repr(facts) and facts["auth"] == "bearer from $EVALCLI_TEST_KEY"
        # the server echoes the key in an error: it must not reach the message
        server.fault("status", path="/v1/chat/completions", status=400,
                     message=f"bad request from key {SECRET}")
        with pytest.raises(EngineError) as info:
            engine.generate(make_request())
        assert SECRET not in str(info.value) and SECRET not in repr(info.value.args)


def test_wrong_api_key_is_a_load_error(monkeypatch):
    monkeypatch.setenv("EVALCLI_TEST_KEY", "sk-wrong-key-000000")
    with FakeOpenAI(api_key=SECRET) as server:
        with pytest.raises(EngineLoadError) as info:
            OpenAIEngine.preflight(options(server.url, api_key_env="EVALCLI_TEST_KEY"), workers=1)
    assert "HTTP 401" in str(info.value) and "$EVALCLI_TEST_KEY" in str(info.value)
    assert "sk-wrong-key" not in str(info.value)


def test_missing_key_variable_names_the_variable(monkeypatch, openai_server):
    monkeypatch.delenv("EVALCLI_NO_SUCH_KEY", raising=False)
    opts = options(openai_server.url, api_key_env="EVALCLI_NO_SUCH_KEY")
    with pytest.raises(EngineLoadError, match="EVALCLI_NO_SUCH_KEY"):
        OpenAIEngine.preflight(opts, workers=1)
    with pytest.raises(EngineLoadError, match="EVALCLI_NO_SUCH_KEY"):
        OpenAIEngine(opts, 0)


# -- pre-flight ------------------------------------------------------------------------------

def test_preflight_server_down(dead_url):
    with pytest.raises(EngineLoadError, match=f"not reachable at {dead_url}"):
        OpenAIEngine.preflight(options(dead_url), workers=1)


def test_preflight_model_not_served(openai_server):
    openai_server.models = ["llama-3-8b", "qwen"]
    with pytest.raises(EngineLoadError) as info:
        OpenAIEngine.preflight(options(openai_server.url), workers=1)
    assert str(info.value).startswith('model "demo" is not served by')
    assert "it serves: llama-3-8b, qwen" in str(info.value)


def test_preflight_server_without_model_list_warns():
    with FakeOpenAI(list_models=False) as server:
        warnings = OpenAIEngine.preflight(options(server.url, send_extra_sampling=True),
                                          workers=1)
    assert len(warnings) == 1 and "does not list its models" in warnings[0]


def test_preflight_warns_about_local_defaults(openai_server):
    warnings = OpenAIEngine.preflight(options(openai_server.url), workers=1)
    assert len(warnings) == 1 and "repeat_penalty 1.1" in warnings[0]
    assert OpenAIEngine.preflight(options(openai_server.url, send_extra_sampling=True),
                                  workers=1) == []


def test_worker_cap():
    assert OpenAIEngine.worker_cap(options("http://127.0.0.1:1")) == (None, "")
    cap, reason = OpenAIEngine.worker_cap(options("http://127.0.0.1:1", max_workers=8))
    assert cap == 8 and "max_workers = 8" in reason


def test_faults_retry_then_fail(openai_server):
    engine = OpenAIEngine(options(openai_server.url), 0)
    openai_server.fault("status", times=2, path="/v1/chat/completions", status=429,
                        retry_after="0")
    assert engine.generate(make_request()).timings["attempts"] == 3
    openai_server.fault("drop", times=3, path="/v1/chat/completions")
    with pytest.raises(EngineError) as info:
        engine.generate(make_request())
    assert info.value.kind == "connection" and info.value.retryable
