"""evalcli.inputs.datasets format "hf": mapping of the three known datasets, with a stand-in `datasets`
module (no network, no real package needed)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from evalcli.errors import ConfigError, DataError
from evalcli.inputs.datasets import DatasetSource, load_sources

SQUAD_ROWS = [
    {
        "id": "s1",
        "title": "T",
        "context": "Ctx one.",
        "question": "Q1?",
        "answers": {"text": ["one", "one"], "answer_start": [4, 4]},
    },
    {
        "id": "s2",
        "title": "T",
        "context": "Ctx one.",
        "question": "Q2?",
        "answers": {"text": [], "answer_start": []},
    },
    {
        "id": "s3",
        "title": "T",
        "context": "Ctx two.",
        "question": "Q3?",
        "answers": {"text": ["two"], "answer_start": [4]},
    },
]
TRIVIA_ROWS = [
    {
        "question": "Q?",
        "question_id": "tq1",
        "question_source": "",
        "entity_pages": {},
        "search_results": {},
        "answer": {
            "aliases": ["Paris", "paris"],
            "normalized_aliases": ["paris"],
            "value": "Paris",
            "normalized_value": "paris",
            "type": "WikipediaEntity",
        },
    },
]
TRIVIA_ROWS.append(dict(TRIVIA_ROWS[0]))
NQ_ROWS = [{"question": "who x", "answer": ["a"]}, {"question": "who y", "answer": ["b", "c"]}]


@pytest.fixture
def fake_hf(monkeypatch):
    calls = []

    def load_dataset(name, config=None, *, split, cache_dir=None):
        calls.append((name, config, split, cache_dir))
        kind = name.rsplit("/", 1)[-1]
        if split == "nope":
            raise ValueError(
                "Unknown split \"nope\". Should be one of ['train', 'validation'].\nmore"
            )
        return {"squad_v2": SQUAD_ROWS, "trivia_qa": TRIVIA_ROWS, "nq_open": NQ_ROWS}[kind]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    return calls


def load(**kw):
    return load_sources([DatasetSource(format="hf", **kw)], Path("/base"))


def test_hf_squad_v2(fake_hf):
    items = load(hf_name="rajpurkar/squad_v2")
    assert fake_hf == [("rajpurkar/squad_v2", None, "validation", None)]
    assert [i.key for i in items] == ["squad_v2|s1", "squad_v2|s2", "squad_v2|s3"]
    assert items[0].answers == ["one"] and items[0].answerable
    assert items[1].answers == [] and not items[1].answerable
    assert [i.group for i in items] == ["T#0", "T#0", "T#1"]


def test_hf_trivia_qa_defaults_to_rc_nocontext(fake_hf):
    # the rc splits list a question once per evidence domain: one item
    (item,) = load(hf_name="trivia_qa", cache_dir="cache")
    assert fake_hf == [("trivia_qa", "rc.nocontext", "validation", str(Path("/base") / "cache"))]
    assert (
        item.key == "triviaqa|tq1" and item.type == "closed" and item.answers == ["Paris", "paris"]
    )


def test_hf_nq_open(fake_hf):
    items = load(hf_name="nq_open", split="train", limit=1)
    assert fake_hf[0][2] == "train" and len(items) == 1 and items[0].dataset == "nq_open"


def test_hf_load_failure_is_one_line(fake_hf):
    with pytest.raises(DataError) as err:
        load(hf_name="nq_open", split="nope")
    assert err.value.message.startswith(
        'hf:nq_open:nope: could not load from Hugging Face (Unknown split "nope".'
    )
    assert "\n" not in err.value.message


def test_hf_without_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(ConfigError, match="pip install datasets"):
        load(hf_name="squad_v2")
