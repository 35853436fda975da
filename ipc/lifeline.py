"""A worker dies with its supervisor, within a second, whatever it is doing.

A worker deep in a llama.cpp call cannot be interrupted from Python, and an orphan keeps
its copy of the model in (V)RAM. So each worker is tied to its supervisor's life by the
operating system where it can be, and by a watcher thread everywhere:

    Linux     prctl(PR_SET_PDEATHSIG, SIGKILL), set first thing in the worker: the kernel
              kills the worker when its parent goes. Then getppid() is checked once: a
              parent that died before prctl ran is caught there. (The "parent" is the
              thread that spawned the worker: ipc/pool.py says who may start workers.)
    Windows   the supervisor puts every worker in a job object with kill-on-job-close
              (ipc/winjob.py): the OS closes the job handle when the supervisor dies, however
              it dies, and ends every process in the job.
    everywhere (the only one on macOS and other POSIX systems): a daemon thread blocks on
              the parent sentinel that `spawn` hands every child (POSIX: the read end of a
              pipe whose write end only the parent holds, EOF when it dies; Windows: the
              parent's process handle) and calls os._exit(ORPHANED). A Python thread runs
              while the main thread is inside a native call that releases the GIL, which
              llama-cpp-python's ctypes calls do.

    worker_main ─► bind_to_parent() ─► prctl (Linux) ─► getppid() still the parent?
                                   └─► watcher thread: wait(parent sentinel) ─► os._exit
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import wait as mp_wait

# Exit code of a worker that noticed its supervisor is gone (nobody reads it: the OS reaps).
ORPHANED = 70
PR_SET_PDEATHSIG = 1


def bind_to_parent(*, kernel: bool = True, watcher: bool = True) -> None:
    """Tie this spawned process's life to its parent's. A no-op outside a spawned child.

    `kernel` and `watcher` exist so tests can exercise each mechanism alone.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if kernel and sys.platform.startswith("linux"):
        set_parent_death_signal()
        if os.getppid() != parent.pid:
            os._exit(ORPHANED)  # the parent died before prctl took effect
    if watcher and parent.sentinel is not None:
        threading.Thread(target=_watch, args=(parent.sentinel,), name="evalcli-lifeline",
                         daemon=True).start()


def set_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Linux: have the kernel send `signum` to this process when its parent thread ends."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False  # no prctl (a sandbox, an odd libc): the watcher thread still runs


def _watch(sentinel) -> None:
    try:
        mp_wait([sentinel])
    except OSError:
        return  # cannot watch (a broken handle): leave the worker to the OS mechanism
    os._exit(ORPHANED)
