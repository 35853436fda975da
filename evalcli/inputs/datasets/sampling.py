"""Deterministic, stratified sampling of a source's items (`limit` and the CLI `--limit-items`).

    items ──► strata: open-book answerable │ open-book unanswerable │ closed-book
          ──► seats per stratum: proportional to its size (Sainte-Laguë), at least one
              for every non-empty stratum when the limit allows
          ──► in each stratum, the items with the smallest sha256("<seed>|<dataset>|<item_id>")
          ──► the chosen items, in their original order

The rank of an item depends only on the seed and its own key, never on Python's `random`,
hash randomisation, the platform or the file's order: the same (seed, limit) always keeps the
same items, and growing the limit only adds items. A source mixing open and closed items (or
answerable and unanswerable ones) keeps its proportions, so a small sample of SQuAD 2.0
still has its share of unanswerable questions.
"""

from __future__ import annotations

import hashlib

from evalcli.inputs.datasets.records import Located
from evalcli.inputs.items import Item


def stratum(item: Item) -> str:
    if item.type == "closed":
        return "closed"
    return "open" if item.answerable else "open-unanswerable"


def rank(seed: int, item: Item) -> bytes:
    return hashlib.sha256(f"{seed}|{item.key}".encode()).digest()


def allocate(sizes: list[int], limit: int) -> list[int]:
    """Seats per stratum, handed out one at a time (Sainte-Laguë: the stratum with the largest
    size / (2 * seats + 1) gets the next seat), a stratum with no seat yet going first.

    The order seats are handed out in does not depend on `limit`, so a larger limit never
    takes a seat away from any stratum.
    """
    seats = [0] * len(sizes)
    for _ in range(min(limit, sum(sizes))):
        candidates = [i for i, size in enumerate(sizes) if seats[i] < size]
        best = max(candidates, key=lambda i: (seats[i] == 0, sizes[i] / (2 * seats[i] + 1), -i))
        seats[best] += 1
    return seats


def sample(located: list[Located], limit: int, seed: int) -> list[Located]:
    """Keep at most `limit` items (0 = all), stratified and seeded as the module says."""
    if limit <= 0 or limit >= len(located):
        return list(located)
    groups: dict[str, list[int]] = {}
    for index, (item, _) in enumerate(located):
        groups.setdefault(stratum(item), []).append(index)
    members = list(groups.values())
    keep: list[int] = []
    for indexes, seats in zip(members, allocate([len(m) for m in members], limit), strict=True):
        ranked = sorted(indexes, key=lambda i: rank(seed, located[i].item))
        keep.extend(ranked[:seats])
    return [located[i] for i in sorted(keep)]
