"""Hand an open file to a spawned child as an OS handle, so the child never opens a path.

The supervisor opens a worker's log file; the worker only receives the handle and points
its stdout/stderr at it. Pickling happens while `spawn` launches the child, which knows
how to carry a handle across:

    parent:  InheritedFile(fd) ─pickle─► popen.duplicate_for_child(handle)
                 POSIX: the fd is passed to the child under the same number (pass_fds)
                 Windows: DuplicateHandle into the child process
    child:   _adopt(handle) ─► a file descriptor of this process
"""

from __future__ import annotations

import os
import sys
from multiprocessing import context


class InheritedFile:
    """A file descriptor of this process, to be given to a child being spawned."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self):
        popen = context.get_spawning_popen()
        if popen is None:
            raise RuntimeError("an InheritedFile can only be pickled while spawning a process")
        if sys.platform == "win32":
            import msvcrt

            handle = popen.duplicate_for_child(msvcrt.get_osfhandle(self.fd))
        else:
            handle = popen.duplicate_for_child(self.fd)
        return _adopt, (handle,)


def _adopt(handle: int) -> int:
    """In the child: the handle as a file descriptor (appending, on Windows)."""
    if sys.platform == "win32":
        import msvcrt

        return msvcrt.open_osfhandle(handle, os.O_WRONLY | os.O_APPEND)
    return handle
