"""The canonical item every dataset loader produces, and its frozen JSONL form (items.jsonl).

An item is one question. Open-book items carry a passage and may be unanswerable from it
(then `answers` is empty and `answerable` is False); closed-book items have no passage.
"""

from __future__ import annotations

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


def write_items(path: Path, items: list[Item]) -> None:
    """Write items as JSONL (one Item per line) atomically."""
    from evalcli.store.fsutil import atomic_write_bytes

    atomic_write_bytes(path, b"".join(_encoder.encode(item) + b"\n" for item in items))


def read_items(path: Path) -> list[Item]:
    """Read a frozen items.jsonl written by write_items."""
    items = []
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                items.append(_decoder.decode(line))
    return items
