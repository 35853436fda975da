"""Secrets (API keys): read and checked once, scrubbed from every string a server or an
engine hands back, and remembered by a run only as a salted fingerprint.

    $OPENAI_API_KEY ──read_key──► key (a trailing newline stripped, with a warning;
                                  non-ASCII or control characters refused, key not shown)
    key ──Scrubber([key])──► scrub(text): every run of ≥ 8 characters of the key → "***"
    key ──fingerprint──► {"salt", "windows": salted hashes of every 8-character window,
                          "chars": the key's punctuation}   (what run.json keeps; never the key)
    fingerprint ──Scrubber.from_fingerprint──► the same scrub, without the key (archives)

One scrubber, two ways to know the key. A span of text is cut when it is a substring of a
key at least MIN_RUN (8) characters long — the whole key, a prefix left by a cut, a tail, a
middle — so a body truncated later (or earlier, by the server) leaks nothing longer than 7
characters of the key. Scrub first, truncate after.

This module imports nothing else of the project: engines use it on what they receive, ipc's
worker on everything it sends, and the CLI on what it packs into an archive.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets as _random
import string
from collections.abc import Iterable

MIN_RUN = 8  # shorter runs of a key are not secret enough to cut (and would cut words)
MASK = "***"
_PUNCTUATION = set(string.punctuation)


class BadKey(ValueError):
    """A key that cannot be sent (non-ASCII or control characters); the message never shows it."""


def read_key(var: str, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """The key in environment variable `var` and a warning ("" when none).

    A trailing newline (a key pasted from a file) is stripped with a warning; a space, any
    other control character or a non-ASCII one is refused with a message that names the variable,
    never the value (an HTTP header could not carry it, and httpx would print it)."""
    value = (os.environ if environ is None else environ).get(var, "")
    warning = ""
    stripped = value.rstrip("\r\n")
    if stripped != value:
        warning = (f"the key in ${var} ends with a newline; it was removed (set the variable "
                   "without it to silence this)")
        value = stripped
    bad = next((i for i, c in enumerate(value) if not 32 < ord(c) < 127), None)
    if bad is not None:
        code = ord(value[bad])
        what = "a non-ASCII" if code > 126 else "a space" if code == 32 else "a control"
        raise BadKey(f"the key in ${var} has {what} character at position {bad + 1} (the "
                        "key is not shown): an HTTP header cannot carry it - set the variable "
                        "to the key exactly as the provider gave it")
    return value, warning


def _windows(key: str) -> list[str]:
    return [key[i:i + MIN_RUN] for i in range(len(key) - MIN_RUN + 1)] if len(key) >= MIN_RUN \
        else [key]


def _hasher(salt: bytes):
    return hashlib.blake2b(key=salt, digest_size=16)


def fingerprint(keys: Iterable[str]) -> dict:
    """What a run records about its keys: salted hashes of every 8-character window (the key
    itself cannot be read back), and the punctuation the keys use (to find candidate text).
    Empty dict when there is no key."""
    keys = [k for k in keys if k]
    if not keys:
        return {}
    salt = _random.token_bytes(16)
    base = _hasher(salt)
    windows = set()
    for key in keys:
        for window in _windows(key):
            h = base.copy()
            h.update(window.encode("utf-8"))
            windows.add(h.hexdigest())
    chars = sorted({c for k in keys for c in k if c in _PUNCTUATION})
    return {"scheme": "blake2b-16/8", "salt": salt.hex(), "windows": sorted(windows),
            "chars": "".join(chars)}


def extend_fingerprint(record: dict | None, keys: Iterable[str]) -> dict:
    """`record` with the windows of `keys` it lacks added under its own salt (a run resumed
    with another key remembers both); a new fingerprint when there is none."""
    keys = [k for k in keys if k]
    if not isinstance(record, dict) or record.get("scheme") != "blake2b-16/8":
        return fingerprint(keys)
    if not keys:
        return record
    base = _hasher(bytes.fromhex(record["salt"]))
    windows = set(record["windows"])
    for key in keys:
        for window in _windows(key):
            h = base.copy()
            h.update(window.encode("utf-8"))
            windows.add(h.hexdigest())
    chars = set(record.get("chars", "")) | {c for k in keys for c in k if c in _PUNCTUATION}
    return {**record, "windows": sorted(windows), "chars": "".join(sorted(chars))}


class Scrubber:
    """Replace every run of ≥ 8 characters of a known key in a text with "***"."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        keys = [k for k in keys if k]
        self._pattern: re.Pattern[str] | None = None
        self._hashes: set[bytes] = set()
        self._base = None
        self._candidates: re.Pattern[str] | None = None
        if keys:
            windows = sorted({w for k in keys for w in _windows(k)}, key=len, reverse=True)
            # a lookahead finds a window at every position, overlapping ones included
            self._pattern = re.compile("(?=(" + "|".join(map(re.escape, windows)) + "))")

    @classmethod
    def from_fingerprint(cls, record: dict | None) -> Scrubber:
        """A scrubber from what run.json recorded (see fingerprint()); an empty record or one
        this version does not know scrubs nothing."""
        self = cls()
        if not isinstance(record, dict) or record.get("scheme") != "blake2b-16/8":
            return self
        try:
            self._base = _hasher(bytes.fromhex(str(record["salt"])))
            self._hashes = {bytes.fromhex(str(h)) for h in record["windows"]}
        except (KeyError, TypeError, ValueError):
            self._base, self._hashes = None, set()
            return self
        chars = "".join(c for c in str(record.get("chars", "")) if c in _PUNCTUATION)
        self._candidates = re.compile(f"[A-Za-z0-9{re.escape(chars)}]{{{MIN_RUN},}}")
        return self

    def __bool__(self) -> bool:
        return self._pattern is not None or self._base is not None

    def _spans(self, text: str) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        if self._pattern is not None:
            hits = [(m.start(), m.start() + len(m.group(1))) for m in self._pattern.finditer(text)]
        elif self._base is not None and self._candidates is not None:
            base, hashes = self._base, self._hashes
            for m in self._candidates.finditer(text):
                token, offset = m.group(), m.start()
                for i in range(len(token) - MIN_RUN + 1):
                    h = base.copy()
                    h.update(token[i:i + MIN_RUN].encode("ascii"))
                    if h.digest() in hashes:
                        hits.append((offset + i, offset + i + MIN_RUN))
        merged: list[tuple[int, int]] = []
        for start, end in hits:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def scrub(self, text: str) -> str:
        """`text` with every run of a key of ≥ 8 characters (or a whole shorter key) cut."""
        if not self or not text:
            return text
        spans = self._spans(text)
        if not spans:
            return text
        out, last = [], 0
        for start, end in spans:
            out += [text[last:start], MASK]
            last = end
        out.append(text[last:])
        return "".join(out)

    def scrub_bytes(self, data: bytes) -> bytes:
        """The same on bytes (UTF-8; undecodable bytes kept as they are)."""
        if not self or not data:
            return data
        text = data.decode("utf-8", "surrogateescape")
        scrubbed = self.scrub(text)
        return data if scrubbed is text else scrubbed.encode("utf-8", "surrogateescape")


def scrub_completion(completion, scrubber: Scrubber):
    """A Completion (engines.base) with its text fields scrubbed; the same object when clean."""
    if not scrubber:
        return completion
    changes = {name: scrubber.scrub(getattr(completion, name))
               for name in ("text", "finish_reason", "request_id")}
    changes = {k: v for k, v in changes.items() if v != getattr(completion, k)}
    if not changes:
        return completion
    import msgspec

    return msgspec.structs.replace(completion, **changes)
