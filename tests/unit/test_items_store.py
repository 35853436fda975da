"""Items held packed (one msgpack array per item + an offset each): the same items back, found
by key, and the same items.jsonl bytes as writing the Item objects."""

from __future__ import annotations

import msgspec
import pytest

import evalcli.inputs.items as items_module
from evalcli.errors import DataError
from evalcli.inputs.items import Item, Items, read_items, write_items


def _items(n: int) -> list[Item]:
    return [Item(dataset="d" if i % 3 else "e", item_id=f"q{i}", type="open" if i % 2 else
                 "closed", question=f"Q {i}?", answers=[f"a{i}"] if i % 4 else [],
                 passage="P." if i % 2 else "", answerable=bool(i % 4), group=f"g{i // 5}")
            for i in range(n)]


def test_items_come_back_by_position_and_by_key(tmp_path):
    given = _items(23)
    items = Items.of(given)
    assert len(items) == 23 and list(items) == given
    assert items[0] == given[0] and items[-1] == given[-1] and items[5:8] == given[5:8]
    with pytest.raises(IndexError):
        items[23]
    assert b"".join(items.json_lines()) == b"".join(msgspec.json.encode(i) + b"\n"
                                                    for i in given)
    keyed = items.keyed()
    assert [keyed[i.key] for i in given] == given and len(keyed) == 23
    assert keyed.get("d|nope") is None and "e|q0" in keyed and "d|q0" not in keyed
    write_items(tmp_path / "items.jsonl", items)
    again = read_items(tmp_path / "items.jsonl")
    assert list(again) == given
    assert (tmp_path / "items.jsonl").read_bytes() == b"".join(items.json_lines())
    import hashlib

    assert items.sha256() == again.sha256() == \
        hashlib.sha256((tmp_path / "items.jsonl").read_bytes()).hexdigest()
    assert Items.of(items) is items


def test_a_hash_shared_by_several_keys_still_finds_the_right_item(monkeypatch):
    """The key index holds 64-bit hashes: a collision is resolved by reading the items."""
    given = _items(9)
    monkeypatch.setattr(items_module, "hash", lambda key: 7 if key != "zz" else 8,
                        raising=False)
    keyed = Items.of(given).keyed()
    assert [keyed[i.key].item_id for i in reversed(given)] == [i.item_id for i in
                                                               reversed(given)]
    assert keyed.get("d|q99") is None and keyed.get("zz") is None


def test_read_items_skips_blank_lines_and_names_a_bad_one(tmp_path):
    path = tmp_path / "items.jsonl"
    given = _items(3)
    path.write_bytes(b"\n".join(msgspec.json.encode(i) for i in given) + b"\n\n")
    assert list(read_items(path)) == given
    path.write_bytes(msgspec.json.encode(given[0]) + b'\n{"dataset": "d"}\n')
    with pytest.raises(DataError, match=r"items.jsonl line 2: not an item \(Object missing"):
        read_items(path)
    path.write_bytes(msgspec.json.encode(given[0]) + b'\n{"dataset": "d"')
    with pytest.raises(DataError, match="line 2: not an item"):
        read_items(path)
