"""Which unit a worker runs next: pure policy.

Units that share a system prompt (same trial and condition) form a group. A worker keeps
taking units from its group, so llama.cpp's prefix KV cache (which only spans the
immediately preceding prompt) is reused; when its group runs dry it takes the next group
nobody has started, and only then joins the largest group still running.

    groups:  [t0/control ▓▓▓▓▓] [t0/treatment ▓▓▓▓▓] [t1/control ▓▓▓▓▓] ...
    worker0 ─► t0/control      worker1 ─► t0/treatment      (worker0 done) ─► t1/control
"""

from __future__ import annotations

from collections import OrderedDict, deque

from evalcli.run.plan import Unit


class Scheduler:
    def __init__(self, units: list[Unit]) -> None:
        self._groups: OrderedDict[tuple[str, str], deque[Unit]] = OrderedDict()
        for unit in units:
            self._groups.setdefault((unit.trial, unit.condition), deque()).append(unit)
        self._owner: dict[int, tuple[str, str]] = {}
        self._remaining = len(units)

    @property
    def remaining(self) -> int:
        """Units not yet handed out (requeued units count again)."""
        return self._remaining

    def next_for(self, worker: int) -> Unit | None:
        key = self._owner.get(worker)
        if key is None or not self._groups.get(key):
            key = self._pick_group(worker)
            if key is None:
                self._owner.pop(worker, None)
                return None
            self._owner[worker] = key
        self._remaining -= 1
        return self._groups[key].popleft()

    def requeue(self, unit: Unit) -> None:
        """Put a unit back at the front of its group (it runs next on that group's worker)."""
        self._groups.setdefault((unit.trial, unit.condition), deque()).appendleft(unit)
        self._remaining += 1

    def _pick_group(self, worker: int) -> tuple[str, str] | None:
        owned = set(self._owner[w] for w in self._owner if w != worker)
        for key, queue in self._groups.items():
            if queue and key not in owned:
                return key
        running = [key for key, queue in self._groups.items() if queue]
        if not running:
            return None
        return max(running, key=lambda key: len(self._groups[key]))
