"""`multiprocessing.connection.wait` over any number of handles.

On Windows with Python <= 3.12 one wait takes at most 63 handles (WaitForMultipleObjects),
and every worker needs two (its pipe and its process sentinel). Past that, the handles are
split into chunks of at most 63 and polled in turn:

    every chunk, timeout 0 ──► anything ready? return it
    block on the next chunk (round robin) for at most POLL_S, until the deadline
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait as mp_wait

WINDOWS_LIMIT = 63
POLL_S = 0.01  # the longest a message on another chunk waits to be seen


def handle_limit() -> int | None:
    """How many objects one wait() may take here (None = no limit)."""
    return WINDOWS_LIMIT if sys.platform == "win32" and sys.version_info < (3, 13) else None


def wait_many(objects: Sequence, timeout: float | None, *, limit: int | None = None,
              wait: Callable = mp_wait) -> list:
    """Like wait(objects, timeout), never passing more than `limit` objects to one call."""
    limit = handle_limit() if limit is None else limit
    objects = list(objects)
    if limit is None or len(objects) <= limit:
        return wait(objects, timeout)
    chunks = [objects[i:i + limit] for i in range(0, len(objects), limit)]
    deadline = None if timeout is None else time.monotonic() + timeout
    turn = 0
    while True:
        ready = [obj for chunk in chunks for obj in wait(chunk, 0)]
        if ready:
            return ready
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return []
        blocked = chunks[turn % len(chunks)]
        turn += 1
        if wait(blocked, POLL_S if remaining is None else min(POLL_S, remaining)):
            continue  # collected with every other ready object by the next poll
