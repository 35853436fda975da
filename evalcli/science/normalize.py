"""The official SQuAD 2.0 answer normalisation, shared by scoring and echo detection."""

from __future__ import annotations

import re
import string

_PUNCT = str.maketrans("", "", string.punctuation)  # deleted, as the official `exclude` set
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(s: str) -> str:
    """Official SQuAD 2.0 normalisation: lower, remove punctuation, remove articles, fix whitespace."""
    s = s.lower()
    s = s.translate(_PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())
