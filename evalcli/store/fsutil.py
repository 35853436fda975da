"""The one atomic-write helper and the one clock.

Atomic write = write a temp file in the same directory, flush + fsync, `os.replace` over
the target. On Windows `os.replace` fails with PermissionError while another process (an
editor, an antivirus scanner, `evalcli show` reading the file) holds the target open, so
the replace is retried briefly before giving up.

A write that fails (disk full, no permission, a file held open) raises StoreWriteError: one
line naming the file and the reason, never a raw OSError.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from evalcli.errors import StoreWriteError

_REPLACE_TRIES = 20
_REPLACE_WAIT_S = 0.05
# Test hook (crash consistency): with this variable set to N, the process dies as if killed
# (os._exit(137), no cleanup) at the Nth point of the atomic writes: before one starts, when
# its temp file is written but not yet in place, and after it.
FAULT_ENV = "EVALCLI_TEST_EXIT_AT_WRITE"
# Test hook (bad moments): "<file name>:sigterm" raises SIGTERM in this process just before
# the first atomic write of a file of that name; "<file name>:stop" writes the run's STOP
# file there instead (as `evalcli stop` from another terminal would).
EVENT_ENV = "EVALCLI_TEST_AT_WRITE"
_fault_points = 0
_events_fired = False


def fault_point(path: Path | None = None) -> None:
    """Act here if FAULT_ENV / EVENT_ENV say so (tests only; free otherwise)."""
    global _fault_points, _events_fired
    limit = os.environ.get(FAULT_ENV)
    if limit:
        _fault_points += 1
        if _fault_points == int(limit):
            os._exit(137)
    event = os.environ.get(EVENT_ENV)
    if event and path is not None and not _events_fired:
        name, _, action = event.partition(":")
        if path.name != name:
            return
        _events_fired = True
        if action == "sigterm":
            import signal

            signal.raise_signal(signal.SIGTERM)
        elif action == "stop":
            root = next(p for p in path.parents if (p / "run.json").is_file())
            (root / "STOP").write_text("test", encoding="utf-8")


def is_temp_file(name: str) -> bool:
    """A temp file atomic_writer leaves behind when the process is killed mid-write."""
    return name.startswith(".") and name.endswith(".tmp")


def utc_now() -> str:
    """ISO-8601 UTC timestamp with seconds precision, e.g. 2026-11-28T23:59:01Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) \
        or getattr(exc, "winerror", None) in (39, 112)  # ERROR_HANDLE_DISK_FULL, DISK_FULL


def write_error(path: Path, exc: OSError) -> StoreWriteError:
    """The one-line error for a failed write into a run directory."""
    if is_disk_full(exc):
        reason = "disk full - free some space"
    elif isinstance(exc, PermissionError) and sys.platform == "win32":
        reason = ("permission denied: another program (an editor, a spreadsheet, a virus "
                  "scanner) may hold it open - close it")
    elif isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        reason = "permission denied or read-only - choose a folder you can write in"
    else:
        reason = exc.strerror or str(exc)
    return StoreWriteError(f"cannot write {path}: {reason}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_writer(path: Path):
    """A binary file to write `path` through, streamed: readers see the old content or
    the complete new one, never a part; on any failure the old content stays and the temp
    file is removed (an OSError becomes one StoreWriteError line)."""
    path = Path(path)
    fault_point(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the temp file private (0600); the file it becomes gets the mode any
        # new file would (0644 under umask 022), so colleagues can read the report
        _chmod_like_new(tmp_name)
        fault_point()  # the temp file is written, the target not yet replaced
        replace_with_retry(tmp_name, path)
        fault_point()
    except BaseException as exc:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
        raise


def _umask() -> int:
    if not hasattr(_umask, "value"):
        current = os.umask(0o022)  # the only way to read it: set, then put it back
        os.umask(current)
        _umask.value = current  # type: ignore[attr-defined]
    return _umask.value  # type: ignore[attr-defined]


def _chmod_like_new(name: str) -> None:
    if os.name == "nt":  # Windows files have no mode bits to widen (ACLs apply)
        return
    try:
        os.chmod(name, 0o666 & ~_umask())
    except OSError:
        pass  # a file system without modes: the private default stays


# Spreadsheet safety (CSV injection, OWASP): a cell that begins with one of these is run as
# a formula by Excel, LibreOffice or Google Sheets ("=HYPERLINK(...)", "@SUM(...)", "+1+cmd").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _needs_quote(text: str) -> bool:
    return text.lstrip("'").startswith(_FORMULA_START) and not _NUMBER.fullmatch(text)


def spreadsheet_cell(value):
    """A cell for a CSV people open in a spreadsheet: text that would start a formula gets a
    leading "'" (text starting with "'" then such a character gets one more, so the reading
    side can always undo it); numbers — and text that is a plain number, like "-1.5" —
    stay as they are."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def spreadsheet_text(cell: str) -> str:
    """The value spreadsheet_cell was given, from the cell it wrote."""
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START):
        return cell[1:]
    return cell


def atomic_write_csv(path: Path, columns, rows) -> None:
    """Stream dict rows (any iterable) into a UTF-8 CSV with `columns`, atomically; every
    text cell spreadsheet-safe (spreadsheet_cell: undone by spreadsheet_text)."""
    import csv
    import io

    with atomic_writer(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        # with "\n" line ends the csv module leaves a cell holding a bare CR unquoted, and a
        # reader then splits the row there: such a row has every cell quoted
        quoted = csv.DictWriter(text, fieldnames=columns, lineterminator="\n",
                                quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for row in rows:
            row = {k: spreadsheet_cell(v) for k, v in row.items()}
            cr = any(isinstance(v, str) and "\r" in v for v in row.values())
            (quoted if cr else writer).writerow(row)
        text.flush()
        text.detach()  # the raw file stays open for atomic_writer to fsync and replace


def replace_with_retry(src: str | Path, dst: Path) -> None:
    """`os.replace`, retried while Windows says PermissionError (a scanner or a reader holds
    the file open for a moment); the last PermissionError is raised."""
    for attempt in range(_REPLACE_TRIES):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == _REPLACE_TRIES - 1:
                raise
            time.sleep(_REPLACE_WAIT_S * (attempt + 1))


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks (a multi-GB GGUF never sits in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
