"""The canonical item every dataset loader produces, and its frozen JSONL form (items.jsonl).

An item is one question. Open-book items carry a passage and may be unanswerable from it
(then `answers` is empty and `answerable` is False); closed-book items have no passage.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import msgspec

ItemType = Literal["open", "closed"]


class Item(msgspec.Struct, frozen=True, kw_only=True):
    dataset: str
    item_id: str
    type: ItemType
    question: str
    answers: list[str] = []  # gold answers; empty for an unanswerable item
    passage: str = ""  # open-book context; "" for closed-book
    answerable: bool = True
    # items sharing a group (e.g. the same passage) are not independent: clustered SEs use it
    group: str = ""

    @property
    def key(self) -> str:
        return f"{self.dataset}|{self.item_id}"


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Item)


class _Packed(msgspec.Struct, array_like=True):
    """An Item as Items holds it: a msgpack array of its fields, without their names."""

    dataset: str
    item_id: str
    type: ItemType
    question: str
    answers: list[str]
    passage: str
    answerable: bool
    group: str


class _PackedKey(msgspec.Struct, array_like=True):  # the first two fields only
    dataset: str
    item_id: str


_packer = msgspec.msgpack.Encoder()
_unpacker = msgspec.msgpack.Decoder(_Packed)
_key_unpacker = msgspec.msgpack.Decoder(_PackedKey)


def _unpack(data) -> Item:
    p = _unpacker.decode(data)
    return Item(dataset=p.dataset, item_id=p.item_id, type=p.type, question=p.question,
                answers=p.answers, passage=p.passage, answerable=p.answerable, group=p.group)


class Items(Sequence[Item]):
    """A run's items held packed: each item's fields as one msgpack array (no field names,
    no JSON quoting) in one bytes object, an offset per item, and an Item decoded when it is
    asked for (about a microsecond; the last one is kept). No Python object per item lives
    between uses. `keyed()` looks items up by key through a hash index (16 bytes per item);
    `json_lines()` gives items.jsonl's lines."""

    def __init__(self, blob: bytes, offsets: array) -> None:
        self._blob, self._offsets = blob, offsets  # offsets: one more than items (the end)
        self._last: tuple[int, Item] | None = None
        self._hashes = self._order = None  # numpy arrays, made by the first position()
        self._sha256: str | None = None

    @classmethod
    def of(cls, items: Iterable[Item]) -> Items:
        """The items given (an Items is returned as it is)."""
        if isinstance(items, Items):
            return items
        blob, offsets = bytearray(), array("q", [0])
        for item in items:  # packed in place: no bytes object per item
            _packer.encode_into((item.dataset, item.item_id, item.type, item.question,
                                 item.answers, item.passage, item.answerable, item.group),
                                blob, -1)
            offsets.append(len(blob))
        return cls(bytes(blob), offsets)

    @classmethod
    def read(cls, path: Path) -> Items:
        """A frozen items.jsonl written by write_items (each line checked, blank ones left
        out); a line that is not an item is a DataError naming the file and the line."""
        from evalcli.errors import DataError

        def decoded(fh):
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield _decoder.decode(line)
                    except (msgspec.DecodeError, RecursionError) as exc:
                        why = str(exc) if isinstance(exc, msgspec.DecodeError) \
                            else "nested too deeply"
                        raise DataError(
                            f"{path} line {number}: not an item ({why}) - this run's frozen "
                            "items were changed or damaged; restore items.jsonl from a copy, "
                            "or start a new run") from None

        try:
            with open(path, "rb") as fh:
                return cls.of(decoded(fh))
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror or exc}) - this run's "
                            "frozen items are missing; restore items.jsonl from a copy (or "
                            "the run's archive), or start a new run") from None

    def json_lines(self) -> Iterator[bytes]:
        """items.jsonl's lines: one JSON Item each, newline-terminated."""
        for item in self:
            yield _encoder.encode(item) + b"\n"

    def sha256(self) -> str:
        """sha256 of items.jsonl's bytes (computed once: the items never change)."""
        if self._sha256 is None:
            import hashlib

            digest = hashlib.sha256()
            for line in self.json_lines():
                digest.update(line)
            self._sha256 = digest.hexdigest()
        return self._sha256

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        last = self._last
        if last is not None and last[0] == index:
            return last[1]
        if not 0 <= index < len(self):
            raise IndexError(index)
        item = _unpack(self._blob[self._offsets[index]:self._offsets[index + 1]])
        self._last = (index, item)
        return item

    def __iter__(self) -> Iterator[Item]:
        blob, offsets = self._blob, self._offsets
        for i in range(len(self)):
            yield _unpack(blob[offsets[i]:offsets[i + 1]])

    def position(self, key: str) -> int | None:
        """The index of the item with this key (dataset|item_id), or None."""
        import numpy as np  # not at module level: commands that never look items up skip it

        if self._hashes is None:
            blob, offsets = self._blob, self._offsets
            hashes = np.fromiter((hash(f"{k.dataset}|{k.item_id}") for k in (
                _key_unpacker.decode(blob[offsets[i]:offsets[i + 1]]) for i in range(len(self)))),
                dtype=np.int64, count=len(self))
            self._order = np.argsort(hashes, kind="stable")
            self._hashes = hashes[self._order]
        h = hash(key)
        at = int(np.searchsorted(self._hashes, h))
        while at < len(self._hashes) and self._hashes[at] == h:
            index = int(self._order[at])
            if self[index].key == key:
                return index
            at += 1
        return None

    def keyed(self) -> KeyedItems:
        return KeyedItems(self)


class KeyedItems(Mapping[str, Item]):
    """Items by key (dataset|item_id), read through Items.position: what a dict of them
    would answer, without one."""

    def __init__(self, items: Items) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Item:
        index = self._items.position(key)
        if index is None:
            raise KeyError(key)
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        return (item.key for item in self._items)

    def __len__(self) -> int:
        return len(self._items)


def write_items(path: Path, items: Iterable[Item]) -> None:
    """Write items as JSONL (one Item per line) atomically."""
    from evalcli.store.fsutil import atomic_writer

    with atomic_writer(path) as fh:
        fh.writelines(Items.of(items).json_lines())


def read_items(path: Path) -> Items:
    """Read a frozen items.jsonl written by write_items."""
    return Items.read(path)
