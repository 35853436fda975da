"""One writer per run: an OS file lock on runs/<id>/run.lock, on Windows and POSIX alike.

The OS releases the lock when its holder dies (even by kill -9 or a power-off of the
process), so a lock left by a dead process is simply acquirable: we take it over and say
so. A live holder is named by the PID written in the file.

    POSIX: fcntl.flock(LOCK_EX | LOCK_NB)      Windows: msvcrt.locking(LK_NBLCK) on byte 4096

The holder also lists its engine workers there, so that the next holder does not start a
second copy of the model while a worker of a dead supervisor still holds the first:

    run.lock   12345                  ← the holder
               worker 12346 8812345   ← PID and start token (evalcli/store/procid.py)

A worker dies within a second of its supervisor (ipc/lifeline.py): acquire() waits up to
WORKER_GRACE_S for listed workers to go, then refuses, naming the PID.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from evalcli.errors import RunError
from evalcli.store.fsutil import write_error
from evalcli.store.procid import is_running, start_token

WORKER_GRACE_S = 3.0
_MAX_BYTES = 4000  # the file's text stays below the byte Windows locks (4096)


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
        try:
            _wait_for_workers(fh, self.path.parent.name)
        except RunError:
            _unlock(fh)
            fh.close()
            raise
        self.previous_pid = _read_pid(fh)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()).encode("ascii"))
            fh.flush()
        except OSError as exc:  # a full disk: the pid cannot be written
            _unlock(fh)
            try:
                fh.close()
            except OSError:  # the buffered pid cannot be flushed either
                pass
            raise write_error(self.path, exc) from None
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


def record_workers(path: Path, pids: list[int]) -> None:
    """Called by the lock's holder whenever its set of worker processes changes."""
    lines = [f"{os.getpid()}\n"]
    for pid in pids:
        line = f"worker {pid} {start_token(pid) or '-'}\n"
        if sum(map(len, lines)) + len(line) > _MAX_BYTES:
            break
        lines.append(line)
    text = "".join(lines).encode("ascii")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    with open(fd, "r+b") as fh:  # rewritten in place: the holder's line never disappears
        fh.write(text)
        fh.truncate()


def _workers(fh) -> list[tuple[int, str | None]]:
    try:
        fh.seek(0)
        lines = fh.read(_MAX_BYTES + 100).decode("ascii", "replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines[1:]:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "worker" and parts[1].isdigit():
            found.append((int(parts[1]), None if parts[2] == "-" else parts[2]))
    return found


def _wait_for_workers(fh, run_id: str) -> None:
    """Wait (briefly) until no worker listed by the previous holder runs, else refuse."""
    alive = [w for w in _workers(fh) if is_running(*w)]
    deadline = time.monotonic() + WORKER_GRACE_S
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [w for w in alive if is_running(*w)]
    if alive:
        pid = alive[0][0]
        end = f"taskkill /F /PID {pid}" if sys.platform == "win32" else f"kill -9 {pid}"
        raise RunError(
            f"run {run_id}: engine worker process {pid} of an earlier evalcli process is still "
            f"running and holds the model — wait for it to exit, or end it ({end}), then retry"
        )


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
        if pid is None or not is_running(pid):
            return None
        try:
            _lock(fh)
        except OSError:
            return pid
        _unlock(fh)
        return None
    finally:
        fh.close()


def _read_pid(fh) -> int | None:
    try:
        fh.seek(0)
        text = fh.read(32).decode("ascii", "replace").split("\n", 1)[0].strip()
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
