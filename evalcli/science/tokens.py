"""Token counts for rows whose engine reported none: the best counter evalcli has offline.

    engine reported a count ──────────────────────────────► source "engine"
    the model's own tokenizer (llama.cpp worker)  ────────► source "tokenizer"
    tiktoken, only if its vocabulary file is cached ──────► source "tiktoken"
    otherwise: ceil(characters / 4) ──────────────────────► source "estimate"

tiktoken has no offline switch: `get_encoding` downloads its vocabulary when the cached file
is missing *or* fails its sha256 check (it deletes the bad file and fetches again). So the
cache file is looked up exactly where tiktoken looks (TIKTOKEN_CACHE_DIR, else
DATA_GYM_CACHE_DIR, else <tempdir>/data-gym-cache; file name = sha1 of the vocabulary URL)
and its sha256 checked against the hash tiktoken itself expects, before tiktoken is touched.
Anything else falls through to the estimate — never a download attempt.

The estimate, characters / 4 rounded up (0 for an empty text), is the usual rule of thumb
for English under BPE vocabularies; it is labelled `estimate` in predictions.csv so a reader
knows it is not a count. A prompt is counted as the concatenation of its message texts
(chat-template tokens are not included: they are the same in every arm).
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from functools import lru_cache
from pathlib import Path

SOURCES = ("engine", "tokenizer", "tiktoken", "estimate")

# the vocabulary tiktoken would use, its URL and the sha256 tiktoken checks it against
TIKTOKEN_ENCODING = "cl100k_base"
_VOCABULARIES = {
    "cl100k_base": ("https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
    "o200k_base": ("https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
                   "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
}


def tiktoken_cache_file(encoding: str = TIKTOKEN_ENCODING) -> Path | None:
    """Where tiktoken keeps `encoding`'s vocabulary; None when caching is switched off."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return None
    url = _VOCABULARIES[encoding][0]
    return Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()


def tiktoken_cached(encoding: str = TIKTOKEN_ENCODING) -> bool:
    """True only when tiktoken would load `encoding` from disk without any network call."""
    path = tiktoken_cache_file(encoding)
    if path is None or not path.is_file():
        return False
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == _VOCABULARIES[encoding][1]


@lru_cache(maxsize=1)
def _tiktoken_encoder(encoding: str):
    """The tiktoken encoder, or None (not installed / not cached)."""
    if not tiktoken_cached(encoding):
        return None
    try:
        import tiktoken
    except ImportError:
        return None
    return tiktoken.get_encoding(encoding)


def estimate_tokens(text: str) -> int:
    """characters / 4, rounded up; 0 for an empty text."""
    return math.ceil(len(text) / 4)


class TokenCounter:
    """Counts texts with the best counter available here; `source` says which one."""

    def __init__(self, encoding: str = TIKTOKEN_ENCODING, *, use_tiktoken: bool = True) -> None:
        self._encoder = _tiktoken_encoder(encoding) if use_tiktoken else None
        self.source = "tiktoken" if self._encoder is not None else "estimate"

    def count(self, text: str) -> int:
        if self._encoder is not None:
            return len(self._encoder.encode(text, disallowed_special=()))
        return estimate_tokens(text)

    def count_prompt(self, messages) -> int:
        """A prompt (objects with `.content`) as the concatenation of its message texts."""
        return self.count(prompt_text(messages))


def prompt_text(messages) -> str:
    return "\n".join(m.content for m in messages)


def needs_count(row: dict) -> bool:
    """A finished unit without an engine count for its prompt or its answer."""
    return row.get("status") in ("ok", "failed") and min(
        int(row.get("prompt_tokens", -1)), int(row.get("completion_tokens", -1))) < 0


def fill_counts(row: dict, prompt: list | None, counter) -> dict:
    """Give a predictions row a token count for every finished unit, and its source.

    Counts the engine reported stay (source from the record, "engine" by default); a missing
    one (-1) is counted by `counter` (a TokenCounter, or the model's own tokenizer with
    source "tokenizer": `count_prompt(messages)`, `count(text)`, `source`). A failed unit's
    prompt is counted as sent and its answer is 0 tokens. A prompt whose messages are unknown
    stays -1 (and costs.json counts it in `units_without_token_counts`, never silently).
    """
    if row.get("status") not in ("ok", "failed"):
        return row
    source = row.get("tokens_source") or "engine"
    prompt_n, completion = int(row.get("prompt_tokens", -1)), int(row.get("completion_tokens", -1))
    if prompt_n < 0 and prompt is not None:
        prompt_n, source = counter.count_prompt(prompt), counter.source
    if completion < 0 and row.get("status") == "ok":
        completion, source = counter.count(str(row.get("response_text") or "")), counter.source
    elif completion < 0:
        completion = 0  # a failed unit produced no answer text
    row.update(prompt_tokens=prompt_n, completion_tokens=completion,
               total_tokens=prompt_n + completion if min(prompt_n, completion) >= 0 else -1,
               tokens_source=source)
    return row
