"""Which unit a worker runs next: pure policy.

Units that share a model (engine variant) and a system prompt (same trial and condition)
form a group. A worker keeps taking units from its group, so llama.cpp's prefix KV cache
(which only spans the immediately preceding prompt) is reused; when its group runs dry it
takes, in this order:

    1. the next group of the model it has loaded that nobody has started
    2. the largest group of that model still running (work stealing: no reload)
    3. the next group nobody has started of another model   → the worker switches models
    4. the largest group still running of another model

so each worker loads a model once and keeps it for as long as that model has work.

Arm blocks (plan.py: the arms alternate ABBA… every `arm_block_items` items) make a group
per (trial, condition, arm block). In rule 1 a worker takes, among the unstarted groups of
the next arm block, one with the system prompt it ran last when there is one: with two
workers each keeps its arm (both arms run at once, alike), and with one worker this is
exactly plan order (the serpentine puts the same arm on both sides of an edge).

    groups:  [m0 t0/control ▓▓▓▓] [m0 t0/treatment ▓▓▓▓] [m1 t0/control ▓▓▓▓] ...
    worker0 ─► m0 t0/control     worker1 ─► m0 t0/treatment     (m0 done) ─► m1 ...
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator

from evalcli.run.plan import Unit, Units

GroupKey = tuple[int, int, int, str, str]  # (variant, block, arm block, trial, condition)


def _key(unit: Unit) -> GroupKey:
    # block is 0 except in sequential runs, where blocks of items are handed out in order;
    # chunk is the arm block (0 when the arms run fully grouped)
    return (unit.variant, unit.block, unit.chunk, unit.trial, unit.condition)


class _Queue:
    """A group's units not yet handed out: requeued ones first, then the rest in plan order,
    each made by the plan when it is taken (none is held before)."""

    __slots__ = ("front", "rest", "left")

    def __init__(self, rest: Iterator[Unit], count: int) -> None:
        self.front: deque[Unit] = deque()
        self.rest, self.left = rest, count

    def __len__(self) -> int:
        return len(self.front) + self.left

    def pop(self) -> Unit:
        if self.front:
            return self.front.popleft()
        self.left -= 1
        return next(self.rest)


def _parts(units: Iterable[Unit]) -> list[tuple[GroupKey, int, Iterator[Unit]]]:
    """A plan's Units come in parts already; a list of units is grouped here."""
    if isinstance(units, Units):
        return units.parts()
    groups: dict[GroupKey, list[Unit]] = {}
    for unit in units:
        groups.setdefault(_key(unit), []).append(unit)
    return [(key, len(group), iter(group)) for key, group in groups.items()]


class Scheduler:
    def __init__(self, units: Iterable[Unit]) -> None:
        self._groups: OrderedDict[GroupKey, _Queue] = OrderedDict()
        for key, count, rest in sorted(_parts(units), key=lambda part: part[0][0]):
            self._groups[key] = _Queue(rest, count)  # stable: plan order per model
        self._owner: dict[int, GroupKey] = {}
        self._last: dict[int, tuple[str, str]] = {}  # worker -> (trial, condition) it ran last
        self._remaining = sum(len(queue) for queue in self._groups.values())

    @property
    def remaining(self) -> int:
        """Units not yet handed out (requeued units count again)."""
        return self._remaining

    def first_variant(self) -> int:
        """The variant (model) the first group needs (what a fresh worker should load)."""
        return next((key[0] for key, queue in self._groups.items() if queue), 0)

    def next_for(self, worker: int, variant: int = 0) -> Unit | None:
        """The next unit for `worker`, which has engine variant `variant` loaded; a unit of
        another variant means the worker must switch models first."""
        key = self._owner.get(worker)
        if key is None or not self._groups.get(key):
            key = self._pick_group(worker, variant)
            if key is None:
                self._owner.pop(worker, None)
                return None
            self._owner[worker] = key
            self._last[worker] = key[3:]
        self._remaining -= 1
        return self._groups[key].pop()

    def requeue(self, unit: Unit) -> None:
        """Put a unit back at the front of its group (it runs next on that group's worker)."""
        self._groups.setdefault(_key(unit), _Queue(iter(()), 0)).front.appendleft(unit)
        self._remaining += 1

    def _pick_group(self, worker: int, variant: int) -> GroupKey | None:
        owned = set(self._owner[w] for w in self._owner if w != worker)
        live = [key for key, queue in self._groups.items() if queue]
        for same_model in (True, False):
            mine = [key for key in live if (key[0] == variant) == same_model]
            fresh = [key for key in mine if key not in owned]
            if fresh:
                same = [key for key in fresh if key[:3] == fresh[0][:3]
                        and key[3:] == self._last.get(worker)]
                return (same or fresh)[0]
            if mine:
                return max(mine, key=lambda key: len(self._groups[key]))
        return None
