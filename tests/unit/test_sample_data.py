"""The bundled sample dataset and default prompt set are well-formed and self-consistent."""

from __future__ import annotations

import re
import sys
from importlib import resources

import msgspec

from evalcli.inputs.items import Item

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA = resources.files("evalcli.inputs") / "data"


def _load(name: str) -> list[Item]:
    raw = (DATA / "sample" / name).read_bytes()
    assert raw.endswith(b"\n"), f"{name}: missing trailing newline"
    raw.decode("utf-8")  # strict UTF-8
    lines = raw.split(b"\n")[:-1]
    assert all(line.strip() for line in lines), f"{name}: blank line"
    return [msgspec.json.decode(line, type=Item) for line in lines]


def _prompts() -> dict:
    return tomllib.loads((DATA / "prompts" / "default.toml").read_text(encoding="utf-8"))


def test_open_book_items():
    items = _load("open_book.jsonl")
    assert len(items) >= 60
    unanswerable = [it for it in items if not it.answerable]
    assert 3 * len(unanswerable) >= len(items), "fewer than a third unanswerable"
    for it in items:
        assert it.dataset == "sample"
        assert it.type == "open"
        assert re.fullmatch(r"ob-\d{3}", it.item_id), it.item_id
        assert it.passage.strip(), it.item_id
        assert it.question.strip(), it.item_id
        assert re.fullmatch(r"p\d{2}", it.group), it.item_id
        if it.answerable:
            assert 1 <= len(it.answers) <= 3, it.item_id
            for ans in it.answers:
                assert ans and ans in it.passage, (it.item_id, ans)
        else:
            assert it.answers == [], it.item_id
            assert it.answerable is False
    # items sharing a group share one passage
    by_group: dict[str, set[str]] = {}
    for it in items:
        by_group.setdefault(it.group, set()).add(it.passage)
    assert all(len(p) == 1 for p in by_group.values())


def test_closed_book_items():
    items = _load("closed_book.jsonl")
    assert len(items) >= 60
    for it in items:
        assert it.dataset == "sample"
        assert it.type == "closed"
        assert re.fullmatch(r"cb-\d{3}", it.item_id), it.item_id
        assert it.question.strip(), it.item_id
        assert it.answers and all(a.strip() for a in it.answers), it.item_id
        assert it.passage == ""
        assert it.answerable is True
        assert it.group == ""


def test_item_ids_unique():
    items = _load("open_book.jsonl") + _load("closed_book.jsonl")
    keys = [it.key for it in items]
    assert len(keys) == len(set(keys))
    assert not any("|" in it.item_id for it in items)


def test_default_prompt_set():
    cfg = _prompts()
    assert cfg["description"].strip()
    system = cfg["system"]
    assert list(system)[0] == cfg["control"] == "control"
    assert len(system) >= 2, "need a control and at least one treatment"
    assert all(text.strip() for text in system.values())
    assert len(set(system.values())) == len(system), "conditions must differ"
    phrase = cfg["abstain_phrase"]
    assert phrase
    for kind in ("open", "closed"):
        assert phrase in cfg["instructions"][kind], kind
    # the predecessor's defect: system prompt and instructions asked for different
    # abstention phrases. No condition may ask for anything but the instructions' phrase.
    for name, text in {**system, **cfg["instructions"]}.items():
        assert "unknown" not in text.lower(), name
        if "reply exactly with" in text:
            assert phrase in text, name
