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

    groups:  [m0 t0/control ▓▓▓▓] [m0 t0/treatment ▓▓▓▓] [m1 t0/control ▓▓▓▓] ...
    worker0 ─► m0 t0/control     worker1 ─► m0 t0/treatment     (m0 done) ─► m1 ...
"""

from __future__ import annotations

from collections import OrderedDict, deque

from evalcli.run.plan import Unit

GroupKey = tuple[int, int, str, str]  # (engine variant, block, trial, condition)


def _key(unit: Unit) -> GroupKey:
    # block is 0 except in sequential runs, where blocks of items are handed out in order
    return (unit.engine, unit.block, unit.trial, unit.condition)


class Scheduler:
    def __init__(self, units: list[Unit]) -> None:
        self._groups: OrderedDict[GroupKey, deque[Unit]] = OrderedDict()
        for unit in sorted(units, key=lambda u: u.engine):  # stable: plan order per model
            self._groups.setdefault(_key(unit), deque()).append(unit)
        self._owner: dict[int, GroupKey] = {}
        self._remaining = len(units)

    @property
    def remaining(self) -> int:
        """Units not yet handed out (requeued units count again)."""
        return self._remaining

    def first_engine(self) -> int:
        """The model the first group needs (what a fresh worker should load)."""
        return next((key[0] for key, queue in self._groups.items() if queue), 0)

    def next_for(self, worker: int, engine: int = 0) -> Unit | None:
        """The next unit for `worker`, which has engine variant `engine` loaded; a unit of
        another variant means the worker must switch models first."""
        key = self._owner.get(worker)
        if key is None or not self._groups.get(key):
            key = self._pick_group(worker, engine)
            if key is None:
                self._owner.pop(worker, None)
                return None
            self._owner[worker] = key
        self._remaining -= 1
        return self._groups[key].popleft()

    def requeue(self, unit: Unit) -> None:
        """Put a unit back at the front of its group (it runs next on that group's worker)."""
        self._groups.setdefault(_key(unit), deque()).appendleft(unit)
        self._remaining += 1

    def _pick_group(self, worker: int, engine: int) -> GroupKey | None:
        owned = set(self._owner[w] for w in self._owner if w != worker)
        live = [key for key, queue in self._groups.items() if queue]
        for same_model in (True, False):
            mine = [key for key in live if (key[0] == engine) == same_model]
            fresh = [key for key in mine if key not in owned]
            if fresh:
                return fresh[0]
            if mine:
                return max(mine, key=lambda key: len(self._groups[key]))
        return None
