"""The answer store (evalcli/store/answer_cache.py) and the unit key (evalcli/run/reuse.py):
each key stored once, damage refused in one line, and a key that changes with every part."""

from __future__ import annotations

import msgspec
import pytest

from engines.base import ChatMessage, Request, SamplingParams
from evalcli.run.reuse import model_key, unit_key
from evalcli.store.answer_cache import AnswerCache, AnswerCacheError, StoredAnswer


def _answer(text: str) -> StoredAnswer:
    return StoredAnswer(text=text, finish_reason="stop", prompt_tokens=3, completion_tokens=1)


def test_first_answer_of_a_key_stays(tmp_path):
    with AnswerCache(tmp_path / "s.sqlite3") as store:
        assert store.put_many([("k1", "m", "model", _answer("a"), "r1", "u1")]) == 1
        assert store.put_many([("k1", "m", "model", _answer("b"), "r2", "u1"),
                               ("k2", "m", "model", _answer("c"), "r2", "u2")]) == 1
        hits = store.get_many(["k1", "k2", "k3"])
    assert sorted(hits) == ["k1", "k2"]
    assert (hits["k1"].answer.text, hits["k1"].run_id) == ("a", "r1")


def test_not_a_database_and_cut_short_are_one_line(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"hello" * 100)
    with pytest.raises(AnswerCacheError, match="not an SQLite database"):
        AnswerCache(junk)
    path = tmp_path / "s.sqlite3"
    with AnswerCache(path) as store:
        store.put_many([(f"k{i}", "m", "model", _answer("x" * 2000), "r", f"u{i}")
                        for i in range(50)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AnswerCacheError, match="cut short") as err:
        AnswerCache(path)
    assert "\n" not in str(err.value)


def test_disable_and_clear(tmp_path):
    with AnswerCache(tmp_path / "s.sqlite3") as store:
        store.put_many([("k1", "mk1", "one", _answer("a"), "r", "u")])
        store.disable("mk1", "one", "differs")
        assert store.disabled("mk1") == "differs" and store.disabled("mk2") == ""
        [entry] = store.models()
        assert (entry.model, entry.entries, entry.disabled) == ("one", 1, "differs")
        assert store.clear("one") == 1
        assert store.models() == [] and store.disabled("mk1") == ""


def test_clear_by_key_start_reads_wildcards_as_text(tmp_path):
    with AnswerCache(tmp_path / "s.sqlite3") as store:
        store.put_many([("k1", "ab_1", "one", _answer("a"), "r", "u"),
                        ("k2", "abc1", "two", _answer("b"), "r", "u")])
        assert store.clear("ab_") == 1  # not "ab" + any character
        assert [m.model for m in store.models()] == ["two"]
        assert store.clear("%") == 0


def _request(**changes) -> Request:
    params = dict(temperature=0.0, top_p=1.0, top_k=40, max_tokens=16, seed=1, stop=["\n"],
                  repeat_penalty=1.0)
    messages = changes.pop("messages", [ChatMessage("system", "S"), ChatMessage("user", "Q")])
    params.update(changes)
    return Request(unit_id="x", messages=messages, params=SamplingParams(**params),
                   item_key="d|1")


@pytest.mark.parametrize("change", [
    {"seed": 2}, {"temperature": 0.5}, {"top_p": 0.9}, {"top_k": 1}, {"max_tokens": 17},
    {"stop": []}, {"repeat_penalty": 1.1},
    {"messages": [ChatMessage("system", "S "), ChatMessage("user", "Q")]},
])
def test_every_part_of_a_request_is_in_the_key(change):
    assert unit_key("m", _request()) == unit_key("m", _request())
    assert unit_key("m", _request(**change)) != unit_key("m", _request())


def test_the_unit_id_is_not_in_the_key_and_the_model_is():
    other = msgspec.structs.replace(_request(), unit_id="y")
    assert unit_key("m", other) == unit_key("m", _request())
    assert unit_key("m2", _request()) != unit_key("m", _request())
    assert model_key({"n_threads": 1}) != model_key({"n_threads": 2})
