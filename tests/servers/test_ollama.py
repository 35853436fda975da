"""OllamaEngine against a loopback server speaking Ollama's REST API."""

from __future__ import annotations

import msgspec
import pytest
from conftest import FAST, make_request

from engines import engine_class
from engines.base import EngineError, EngineLoadError
from engines.ollama import OllamaEngine, OllamaOptions, estimate_prompt_tokens


def options(url: str, **over) -> OllamaOptions:
    return msgspec.convert(FAST | {"model": "llama3.1:8b", "base_url": url} | over,
                           OllamaOptions)


def test_registry_resolves():
    assert engine_class("ollama") is OllamaEngine


def test_every_parameter_reaches_the_wire(ollama_server):
    engine = OllamaEngine(options(ollama_server.url, num_ctx=8192, keep_alive="45m"), 0)
    req = make_request(temperature=0.7, top_p=0.9, top_k=17, max_tokens=33, seed=99,
                       stop=["\n\n", "END"], repeat_penalty=1.05)
    engine.generate(req)
    body = ollama_server.calls("/api/chat")[0].json
    assert body["model"] == "llama3.1:8b"
    assert body["stream"] is False
    assert body["keep_alive"] == "45m"
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "What is 2+2?"}]
    assert body["options"] == {"temperature": 0.7, "top_p": 0.9, "top_k": 17, "num_predict": 33,
                               "seed": 99, "stop": ["\n\n", "END"], "num_ctx": 8192,
                               "repeat_penalty": 1.05}


def test_response_mapping(ollama_server):
    engine = OllamaEngine(options(ollama_server.url), 0)
    c = engine.generate(make_request())
    assert c.text == "echo: What is 2+2?"
    assert c.finish_reason == "stop"
    assert c.prompt_tokens > 0 and c.completion_tokens == 3
    assert c.timings["total_ms"] == pytest.approx(12.0)
    assert c.timings["load_ms"] == pytest.approx(1.0)
    assert c.timings["prompt_eval_ms"] == pytest.approx(4.0)
    assert c.timings["eval_ms"] == pytest.approx(6.0)
    assert c.latency_ms > 0
    engine.close()


def test_missing_counts_are_unknown_not_invented(ollama_server):
    ollama_server.chat_override = {"message": {"role": "assistant", "content": "4"},
                                   "done": True, "done_reason": "length"}
    c = OllamaEngine(options(ollama_server.url), 0).generate(make_request())
    assert (c.text, c.finish_reason) == ("4", "length")
    assert c.prompt_tokens == -1 and c.completion_tokens == -1
    assert set(c.timings) == {"attempts"}


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"error": "llama runner process has terminated"}, "runner process has terminated"),
        ({"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "load"},
         "empty answer (done_reason: load)"),
        ({"message": {"role": "assistant", "content": ""}, "done": True}, "empty answer"),
        ({"done": True, "done_reason": "stop"}, "no message.content"),
        ({"message": {"content": "x"}, "done": False}, "unfinished"),
    ],
)
def test_bad_answers_raise_instead_of_empty_predictions(ollama_server, answer, words):
    ollama_server.chat_override = answer
    with pytest.raises(EngineError, match=words.replace("(", r"\(").replace(")", r"\)")):
        OllamaEngine(options(ollama_server.url), 0).generate(make_request())


def test_empty_answer_with_stop_is_a_real_answer(ollama_server):
    ollama_server.chat_override = {"message": {"role": "assistant", "content": ""},
                                   "done": True, "done_reason": "stop", "eval_count": 0}
    c = OllamaEngine(options(ollama_server.url), 0).generate(make_request())
    assert c.text == "" and c.completion_tokens == 0


def test_server_500_retried_then_recorded_as_failure(ollama_server):
    ollama_server.fault("status", times=3, path="/api/chat", status=500)
    engine = OllamaEngine(options(ollama_server.url), 0)
    with pytest.raises(EngineError) as info:
        engine.generate(make_request())
    assert info.value.kind == "http_5xx" and info.value.retryable
    ollama_server.fault("status", times=2, path="/api/chat", status=500)
    assert engine.generate(make_request()).text.startswith("echo")


def test_model_unloaded_mid_run_is_not_retried(ollama_server):
    ollama_server.models = ["other:1b"]
    with pytest.raises(EngineError) as info:
        OllamaEngine(options(ollama_server.url), 0).generate(make_request())
    assert info.value.kind == "http_4xx" and "try pulling it first" in str(info.value)
    assert len(ollama_server.calls("/api/chat")) == 1


# -- pre-flight -----------------------------------------------------------------------------

def test_preflight_server_down(dead_url):
    with pytest.raises(EngineLoadError) as info:
        OllamaEngine.preflight(options(dead_url), workers=1)
    assert str(info.value) == f"Ollama is not reachable at {dead_url} — start it with: ollama serve"


def test_preflight_model_missing(ollama_server):
    with pytest.raises(EngineLoadError) as info:
        OllamaEngine.preflight(options(ollama_server.url, model="qwen2.5:7b"), workers=1)
    assert str(info.value) == (
        f'model "qwen2.5:7b" not found on {ollama_server.url} — run: ollama pull qwen2.5:7b')


def test_preflight_untagged_name_means_latest(ollama_server):
    ollama_server.models = ["gemma3:latest"]
    assert OllamaEngine.preflight(options(ollama_server.url, model="gemma3"), workers=1) == []


def test_preflight_not_ollama(openai_server):
    with pytest.raises(EngineLoadError, match="is engine.options.base_url an Ollama server"):
        OllamaEngine.preflight(options(openai_server.url), workers=1)


def test_preflight_embedding_model_rejected(ollama_server):
    ollama_server.capabilities = ["embedding"]
    with pytest.raises(EngineLoadError, match="cannot generate text"):
        OllamaEngine.preflight(options(ollama_server.url), workers=1)


def test_preflight_ok_and_context_warnings(ollama_server):
    ok = OllamaEngine.preflight(options(ollama_server.url), workers=1,
                                longest_request=make_request())
    assert ok == []
    ollama_server.context_length = 2048
    long_req = make_request(user="word " * 4000, max_tokens=48)
    warnings = OllamaEngine.preflight(options(ollama_server.url, num_ctx=4096), workers=1,
                                      longest_request=long_req)
    assert len(warnings) == 2
    assert "exceeds the context length 2048" in warnings[0]
    assert "characters/4" in warnings[1] and "raise num_ctx" in warnings[1]


def test_estimate_is_chars_over_four():
    req = make_request(system="x" * 400, user="y" * 400)
    assert estimate_prompt_tokens(req.messages) == 200 + 16


def test_worker_cap_mirrors_num_parallel():
    cap, reason = OllamaEngine.worker_cap(options("http://127.0.0.1:1"))
    assert cap == 1
    assert reason == ("Ollama serves 1 request at a time (OLLAMA_NUM_PARALLEL=1, the server "
                      "default); set engine.options.num_parallel to match the server")
    assert OllamaEngine.worker_cap(options("http://127.0.0.1:1", num_parallel=4))[0] == 4


def test_describe_reports_server_facts(ollama_server):
    facts = OllamaEngine(options(ollama_server.url), 0).describe()
    assert facts["server_version"] == "0.12.3"
    assert facts["digest"].startswith("sha256:")
    assert facts["quantization_level"] == "Q4_K_M"
    assert facts["base_url"] == ollama_server.url
    assert all(isinstance(v, str) for v in facts.values())


def test_options_are_strict():
    with pytest.raises(msgspec.ValidationError, match="num_ctxx"):
        msgspec.convert({"model": "m", "num_ctxx": 4}, OllamaOptions)
    assert msgspec.convert({"model": "m"}, OllamaOptions).base_url == "http://127.0.0.1:11434"


def test_answer_identity_names_the_model_by_its_digest(ollama_server):
    """Reuse (docs/reuse.md) keys an Ollama model on its digest: another digest under the
    same name is another key; a model the server does not list reuses nothing."""
    first = OllamaEngine.answer_identity(options(ollama_server.url))
    assert first["digest"] == f"sha256:{0:064x}" and first["model"] == "llama3.1:8b"
    ollama_server.models.insert(0, "other:latest")  # llama3.1:8b now has another digest
    assert OllamaEngine.answer_identity(options(ollama_server.url))["digest"] != first["digest"]
    with pytest.raises(EngineLoadError, match="no digest"):
        OllamaEngine.answer_identity(options(ollama_server.url, model="absent:1b"))


def test_answer_identity_without_a_server_is_a_load_error(dead_url):
    with pytest.raises(EngineLoadError, match="digest"):
        OllamaEngine.answer_identity(options(dead_url))
