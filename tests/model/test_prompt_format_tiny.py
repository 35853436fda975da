"""Prompt-format selection inside the engine, on tiny random-weight GGUFs loaded by llama.cpp:
one with a chat template (chat format), one without (completion format)."""

from __future__ import annotations

import pytest

from engines.base import ChatMessage, Request, SamplingParams

llama_cpp = pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
from engines.llama_cpp import LlamaCppEngine  # noqa: E402
from tests.tiny_gguf import SIMPLE_CHAT_TEMPLATE, write_tiny_gguf  # noqa: E402

SYSTEM = "you are the answer of the passage"
USER = "the question is a question"


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"chat": write_tiny_gguf(root / "chat.gguf", chat_template=SIMPLE_CHAT_TEMPLATE),
            "base": write_tiny_gguf(root / "base.gguf")}


def _engine(model, **options) -> LlamaCppEngine:
    return LlamaCppEngine(LlamaCppEngine.Options(model=str(model), n_ctx=512, n_threads=1,
                                                 verbose=False, **options))


def _request(system: str = SYSTEM, user: str = USER, **params) -> Request:
    settings = dict(temperature=0.0, top_p=1.0, top_k=40, max_tokens=4, seed=11, stop=[])
    return Request(unit_id="u", messages=[ChatMessage("system", system),
                                          ChatMessage("user", user)],
                   params=SamplingParams(**{**settings, **params}))


class Spy:
    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.real(**kwargs)


@pytest.mark.parametrize(("model", "choice", "expected"), [
    ("base", "auto", "completion"),
    ("chat", "auto", "gguf"),
    ("chat", "completion", "completion"),
    ("base", "gemma3", "gemma3"),
])
def test_the_format_decides_the_call(ggufs, monkeypatch, model, choice, expected):
    engine = _engine(ggufs[model], chat_template=choice)
    try:
        assert engine.describe()["chat_template"] == expected
        assert engine.describe()["prompt_format"] == (
            "completion" if expected == "completion" else f"chat:{expected}")
        chat = Spy(engine.llm.create_chat_completion)
        monkeypatch.setattr(engine.llm, "create_chat_completion", chat)
        out = engine.generate(_request())
        assert len(chat.calls) == (0 if expected == "completion" else 1)
        assert out.prompt_tokens > 0 and out.completion_tokens > 0
    finally:
        engine.close()


def test_completion_prompt_is_plain_text_with_the_system_text_first(ggufs, monkeypatch):
    engine = _engine(ggufs["base"], answer_cue="\nAnswer:", completion_separator="\n\n")
    try:
        spy = Spy(engine.llm.create_completion)
        monkeypatch.setattr(engine.llm, "create_completion", spy)
        params = dict(temperature=0.7, top_p=0.9, top_k=17, max_tokens=5, seed=4242,
                      stop=["\n", "###"], repeat_penalty=1.05)
        out = engine.generate(_request(**params))
        [call] = spy.calls
        tokens = call["prompt"]
        assert tokens[0] == engine.llm.token_bos()
        text = engine.llm.detokenize(tokens[1:]).decode("utf-8")
        assert text == f"{SYSTEM}\n\n{USER}\nAnswer:"
        assert out.prompt_tokens == len(tokens)
        assert {k: call[k] for k in params} == params  # every sampling setting, explicit
        assert call["min_p"] == 0.0 and call["typical_p"] == 1.0
    finally:
        engine.close()


def test_special_token_text_in_a_passage_stays_text(ggufs):
    engine = _engine(ggufs["base"])
    try:
        spy = Spy(engine.llm.create_completion)
        engine.llm.create_completion = spy
        engine.generate(_request(user="the passage </s> is <s> the answer"))
        tokens = spy.calls[0]["prompt"]
        assert engine.llm.token_eos() not in tokens
        assert tokens.count(engine.llm.token_bos()) == 1
    finally:
        engine.close()


def test_system_text_changes_the_prompt_and_same_system_reuses_the_prefix(ggufs):
    engine = _engine(ggufs["base"])
    try:
        short = engine.generate(_request(system="you"))
        long = engine.generate(_request(system="you " + "are the answer " * 10))
        assert long.prompt_tokens - short.prompt_tokens >= 20
        # the next request shares the long system text: only the rest is evaluated
        follow = engine.generate(_request(system="you " + "are the answer " * 10,
                                          user="a passage in a question"))
        assert 0 < follow.timings["prompt_eval_tokens"] < follow.prompt_tokens - 20
    finally:
        engine.close()


def test_same_request_same_answer_at_temperature_zero(ggufs):
    engine = _engine(ggufs["base"])
    try:
        request = _request(max_tokens=6)
        assert engine.generate(request).text == engine.generate(request).text
    finally:
        engine.close()
