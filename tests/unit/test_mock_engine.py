"""The mock engine's answers: deterministic per request, and padded on request."""

from __future__ import annotations

from engines.base import ChatMessage, Request, SamplingParams
from engines.mock import MockEngine


def _request(item_key: str = "d|q1", max_tokens: int = 16) -> Request:
    return Request(unit_id=f"{item_key}|control|0.0|0|closed", item_key=item_key,
                   messages=[ChatMessage(role="system", content="Be brief."),
                             ChatMessage(role="user", content="Capital of France?")],
                   params=SamplingParams(temperature=0.0, top_p=1.0, top_k=40,
                                         max_tokens=max_tokens, seed=7))


def test_padding_adds_one_long_word_and_the_answer_is_otherwise_the_same():
    key = {"d|q1": ["Paris"]}
    plain = MockEngine(MockEngine.Options(answer_key=key, accuracy=1.0, abstain_rate=0.0))
    padded = MockEngine(MockEngine.Options(answer_key=key, accuracy=1.0, abstain_rate=0.0,
                                           padding_chars=3000))
    a, b = plain.generate(_request()), padded.generate(_request())
    assert a.text == "Paris" and b.text == "Paris " + "z" * 3000
    assert (a.completion_tokens, b.completion_tokens) == (1, 2)
    assert plain.generate(_request()).text == a.text  # the same request, the same answer


def test_the_answer_key_is_read_from_an_items_file_in_the_worker(tmp_path):
    import pytest

    from engines.base import EngineLoadError
    from evalcli.inputs.items import Item, write_items

    path = tmp_path / "items.jsonl"
    write_items(path, [Item(dataset="d", item_id="q1", type="closed", question="Capital?",
                            answers=["Paris", "paris"]),
                       Item(dataset="d", item_id="q2", type="open", question="Who?",
                            passage="P.", answers=[], answerable=False)])
    engine = MockEngine(MockEngine.Options(answer_file=str(path), accuracy=1.0,
                                           abstain_rate=0.0))
    assert engine.generate(_request("d|q1")).text == "Paris"
    assert engine.generate(_request("d|q2")).text == "I don't know."  # unanswerable
    assert engine.generate(_request("d|q9")).text.startswith("answer-")  # not in the key
    with pytest.raises(EngineLoadError, match="cannot read its answer key from"):
        MockEngine(MockEngine.Options(answer_file=str(tmp_path / "missing.jsonl")))
