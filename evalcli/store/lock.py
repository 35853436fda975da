"""One writer per run: an OS file lock on runs/<id>/run.lock, on Windows and POSIX alike.

The OS releases the lock when its holder dies (even by kill -9 or a power-off of the
process), so a lock left by a dead process is simply acquirable: we take it over and say
so. A live holder is named by the PID written in the file.

    POSIX: fcntl.flock(LOCK_EX | LOCK_NB)      Windows: msvcrt.locking(LK_NBLCK) on byte 4096
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from evalcli.errors import RunError


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = None
        self.previous_pid: int | None = None  # set when a stale lock was taken over

    def acquire(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+b")  # noqa: SIM115 - held until release()
        except OSError as exc:  # a runs-dir that is a file, or read-only: one line
            raise RunError(f"cannot create the run lock {self.path} ({exc.strerror or exc}) - "
                           "choose a --runs-dir that is a folder you can write in") from None
        try:
            _lock(fh)
        except OSError:
            holder = _read_pid(fh)
            fh.close()
            who = f"process {holder}" if holder else "another process"
            raise RunError(
                f"run {self.path.parent.name} is in use by {who} — wait for it to finish, or "
                f"stop it with: evalcli stop {self.path.parent.name}"
            ) from None
        self.previous_pid = _read_pid(fh)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()).encode("ascii"))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
                self._fh.flush()
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def live_holder(path: Path) -> int | None:
    """The PID holding the lock now, or None when nobody does (never creates the file).

    A released lock leaves an empty file and a dead holder a PID that is not running: both
    are answered without touching the lock, so probing (`evalcli runs`) cannot make a run
    that starts at that instant fail. Only a live PID is confirmed by trying the lock (the
    PID may have been reused by an unrelated process).
    """
    if not path.is_file():
        return None
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - closed below
    except OSError:
        return None
    try:
        pid = _read_pid(fh)
        if pid is None or not _pid_alive(pid):
            return None
        try:
            _lock(fh)
        except OSError:
            return pid
        _unlock(fh)
        return None
    finally:
        fh.close()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return bool(ok) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _read_pid(fh) -> int | None:
    try:
        fh.seek(0)
        text = fh.read(32).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


if sys.platform == "win32":
    import msvcrt

    _LOCK_OFFSET = 4096  # lock a byte past the PID so other processes can still read it

    def _lock(fh) -> None:
        fh.seek(_LOCK_OFFSET)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(fh) -> None:
        fh.seek(_LOCK_OFFSET)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
