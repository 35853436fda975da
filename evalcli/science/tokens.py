"""Token counts for units whose engine reported none: the best counter evalcli has offline,
used when the unit finishes (evalcli/run/token_counts.py), so results.jsonl carries them.

    engine reported a count ──────────────────────────────► source "engine"
    the model's own tokenizer (llama_cpp's GGUF vocabulary) ► source "tokenizer"
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
from collections.abc import Callable
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


def needs_count(status: str, prompt_tokens: int, completion_tokens: int) -> bool:
    """A finished unit whose engine did not report both counts: a failed unit (its record
    carries none) or an answer with a count of -1."""
    return status == "failed" or min(prompt_tokens, completion_tokens) < 0


def fill_counts(status: str, prompt_tokens: int, completion_tokens: int, text: str,
                prompt: Callable[[], list], counter) -> tuple[int, int, str]:
    """(prompt tokens, completion tokens, source) of a finished unit, made when it finishes.

    Counts the engine reported stay (source "engine"); a missing one (-1) is counted by
    `counter` (a TokenCounter, or the model's own tokenizer with source "tokenizer":
    `count_prompt(messages)`, `count(text)`, `source`). A failed unit's prompt is counted as
    sent and its answer is 0 tokens. `prompt()` gives the messages sent, asked for only when
    the prompt is counted.
    """
    if status == "failed":
        return counter.count_prompt(prompt()), 0, counter.source
    source = "engine"
    if prompt_tokens < 0:
        prompt_tokens, source = counter.count_prompt(prompt()), counter.source
    if completion_tokens < 0:
        completion_tokens, source = counter.count(text), counter.source
    return prompt_tokens, completion_tokens, source
