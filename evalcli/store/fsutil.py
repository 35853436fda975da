"""The one atomic-write helper and the one clock.

Atomic write = write a temp file in the same directory, flush + fsync, `os.replace` over
the target. On Windows `os.replace` fails with PermissionError while another process (an
editor, an antivirus scanner, `evalcli show` reading the file) holds the target open, so
the replace is retried briefly before giving up.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

_REPLACE_TRIES = 20
_REPLACE_WAIT_S = 0.05


def utc_now() -> str:
    """ISO-8601 UTC timestamp with seconds precision, e.g. 2026-11-28T23:59:01Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _replace_with_retry(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _replace_with_retry(src: str, dst: Path) -> None:
    for attempt in range(_REPLACE_TRIES):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == _REPLACE_TRIES - 1:
                raise
            time.sleep(_REPLACE_WAIT_S * (attempt + 1))
