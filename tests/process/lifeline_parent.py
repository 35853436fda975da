"""A stand-in supervisor for tests/process/test_lifeline.py: spawn one child tied to this
process by the chosen mechanisms, then wait forever (the test kills this process).

    python -m tests.process.lifeline_parent MODE
        MODE  default   what a real worker gets: bind_to_parent() + the Windows job
              watcher   the watcher thread alone (what macOS relies on)
              kernel    Linux's parent-death signal alone
              job       the Windows job object alone (no watcher, no bind_to_parent)
              none      nothing: the child outlives this process (the control)

Prints "contained <True|False|->" (what winjob.contain() returned; - where it is not
called), then "child <pid>"; the child prints "bound" just before it enters a 60 s native
call (libc sleep / kernel32.Sleep through ctypes, as llama-cpp-python calls llama.cpp).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading


def child(mode: str) -> None:
    import ctypes

    from ipc.lifeline import bind_to_parent

    if mode not in ("none", "job"):
        bind_to_parent(kernel=mode in ("default", "kernel"), watcher=mode in ("default", "watcher"))
    print("bound", flush=True)
    if sys.platform == "win32":
        ctypes.WinDLL("kernel32").Sleep(60_000)
    else:
        ctypes.CDLL(None).sleep(60)


def main() -> None:
    from ipc import winjob

    mode = sys.argv[1]
    process = multiprocessing.get_context("spawn").Process(target=child, args=(mode,),
                                                           daemon=True)
    process.start()
    contained = winjob.contain(process.pid) if mode in ("default", "job") else "-"
    print(f"contained {contained}", flush=True)
    print(f"child {process.pid}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
