"""Per-answer scoring: pure functions from (answer text, Item) to an AnswerScore.

    raw text ──► is_abstention(raw) ──► abstained? ──► prediction = "" if abstained
                                                        │
    normalize_answer (official SQuAD 2.0) ◄─────────────┘
        ├─► exact_match / f1_score  (max over golds; unanswerable gold = "")
        ├─► false_answer            (unanswerable items only)
        └─► unsupported             (open-book items the model answered)

Everything here follows the official SQuAD 2.0 evaluation script (``evaluate-v2.0.py``):
normalisation = lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse
whitespace; EM and token F1 are maxima over the gold answers; gold answers that normalise
to "" are ignored and an item with none left (an unanswerable item) has the single gold "".

Abstention is decided on the *raw* text, never the normalised one (the predecessor
normalised first, which removed the apostrophe of "I don't know" so it never matched).
See docs/scoring.md for the rules and the phrase list.
"""

from __future__ import annotations

import re
import string
from collections import Counter

import msgspec

from evalcli.inputs.items import Item

# Phrases that, said *as the answer*, mean "I abstain". Written lower-case with a straight
# apostrophe; matching folds case, curly apostrophes and whitespace. A multi-word phrase
# matches when the answer is the phrase or begins with it at a word boundary ("I don't
# know.", "I don't know who wrote it"); a one-word phrase ("unknown", "unanswerable")
# must be the whole answer, so "Unknown Soldier" is not an abstention.
DEFAULT_ABSTAIN_PHRASES: tuple[str, ...] = (
    "i don't know",
    "i do not know",
    "i dont know",
    "i'm not able to answer",
    "i am not able to answer",
    "i cannot answer",
    "i can't answer",
    "cannot answer",
    "can't answer",
    "cannot be determined",
    "can't be determined",
    "cannot be answered",
    "can't be answered",
    "not enough information",
    "insufficient information",
    "there is not enough information",
    "there isn't enough information",
    "the passage does not say",
    "the passage doesn't say",
    "the passage does not mention",
    "the passage doesn't mention",
    "the passage does not provide",
    "the passage doesn't provide",
    "the passage does not contain",
    "the passage doesn't contain",
    "not mentioned in the passage",
    "not provided in the passage",
    "not stated in the passage",
    "no answer",
    "unanswerable",
    "unknown",
)

UNSUPPORTED_STRATEGIES = ("baseline", "overlap")

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'"})
# characters that may wrap an answer: quotes, markdown emphasis, brackets, whitespace
_LEAD = " \t\r\n\"'*_([{<\u201c\u201d"
_TRAIL = " \t\r\n\"'*_)]}>\u201c\u201d.!?,;:\u2026"


def normalize_answer(s: str) -> str:
    """Official SQuAD 2.0 normalisation: lower, remove punctuation, remove articles, fix whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _gold_list(golds: list[str]) -> list[str]:
    """Golds that normalise to non-empty; [""] when none (unanswerable), as the official script."""
    kept = [g for g in golds if normalize_answer(g)]
    return kept or [""]


def _f1_one(prediction: str, gold: str) -> float:
    pred_toks = normalize_answer(prediction).split()
    gold_toks = normalize_answer(gold).split()
    if not pred_toks or not gold_toks:
        # the official rule: F1 is 1 if both are empty, else 0
        return float(pred_toks == gold_toks)
    num_same = sum((Counter(pred_toks) & Counter(gold_toks)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_toks)
    recall = num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: list[str]) -> float:
    """SQuAD 2.0 EM, max over golds; golds == [] (unanswerable) means the gold is ""."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _gold_list(golds)))


def f1_score(prediction: str, golds: list[str]) -> float:
    """SQuAD 2.0 token F1 (bag-of-tokens overlap), max over golds; same empty-gold rule as EM."""
    return max(_f1_one(prediction, g) for g in _gold_list(golds))


def _fold(text: str) -> str:
    """Case-fold, straighten apostrophes, collapse whitespace, strip wrapping quotes/punctuation."""
    text = " ".join(text.translate(_APOSTROPHES).lower().split())
    return text.lstrip(_LEAD).rstrip(_TRAIL)


def is_abstention(
    text: str, phrases: tuple[str, ...] | list[str] = DEFAULT_ABSTAIN_PHRASES
) -> bool:
    """True when the raw answer *is* an abstention phrase (see DEFAULT_ABSTAIN_PHRASES).

    Rules: matching is on the raw text, case-insensitive, with ’ ‘ ʼ ′ ` read as ', whitespace
    collapsed, and wrapping quotes / markdown / trailing punctuation ignored. A multi-word
    phrase matches when the answer equals it or starts with it followed by a non-word
    character; a one-word phrase must be the whole answer.
    """
    folded = _fold(text)
    if not folded:
        return False
    for phrase in phrases:
        p = _fold(phrase)
        if not p:
            continue
        if folded == p:
            return True
        if " " in p and folded.startswith(p) and not _is_word_char(folded[len(p)]):
            return True
    return False


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class AnswerScore(msgspec.Struct, frozen=True):
    """The score of one answer to one item (one sample)."""

    em: float
    f1: float
    abstained: bool
    false_answer: float | None  # unanswerable items only: 1.0 = answered anyway
    unsupported: float | None  # open-book items the model answered: 1.0 = not in the passage


def score_answer(
    text: str,
    item: Item,
    *,
    abstain_phrases: tuple[str, ...] | list[str] = DEFAULT_ABSTAIN_PHRASES,
    unsupported_strategy: str = "baseline",
    overlap_threshold: float = 0.5,
) -> AnswerScore:
    """Score one answer.

    - abstained: ``is_abstention(text)``, or the answer normalises to "" (SQuAD 2.0 reads an
      empty prediction as "no answer") — but an answer that exactly matches a gold answer is
      never an abstention (a gold "Unknown" answered "Unknown" is correct, not abstained).
    - EM/F1: an abstention is scored as the prediction "" (unanswerable: 1, 1; answerable: 0, 0).
    - false_answer: unanswerable items only: 1.0 if the model did not abstain, else 0.0.
    - unsupported: open-book items where the model answered (see ``unsupported_score``).
    """
    if unsupported_strategy not in UNSUPPORTED_STRATEGIES:
        raise ValueError(
            f"unknown unsupported_strategy {unsupported_strategy!r}; "
            f"expected one of {', '.join(UNSUPPORTED_STRATEGIES)}"
        )
    golds = list(item.answers) if item.answerable else []
    normalized = normalize_answer(text)
    abstained = not normalized or is_abstention(text, abstain_phrases)
    if abstained and golds and exact_match(text, golds) == 1.0:
        abstained = False
    prediction = "" if abstained else text
    em = exact_match(prediction, golds)
    f1 = f1_score(prediction, golds)
    false_answer = None if item.answerable else float(not abstained)
    unsupported = None
    if item.type == "open" and not abstained:
        unsupported = unsupported_score(
            text, item.passage, strategy=unsupported_strategy, overlap_threshold=overlap_threshold
        )
    return AnswerScore(
        em=em, f1=f1, abstained=abstained, false_answer=false_answer, unsupported=unsupported
    )


def unsupported_score(
    answer: str, passage: str, *, strategy: str = "baseline", overlap_threshold: float = 0.5
) -> float:
    """1.0 if the answer is not supported by the passage, else 0.0.

    - "baseline": the normalised answer does not occur in the normalised passage as a whole
      run of tokens (a token-bounded substring test: "art" is not found in "start").
    - "overlap": the share of normalised answer tokens that occur in the passage's token set
      is below ``overlap_threshold``.
    An answer that normalises to "" asserts nothing and scores 0.0.
    """
    ans = normalize_answer(answer)
    ctx = normalize_answer(passage)
    if not ans:
        return 0.0
    if strategy == "baseline":
        return float(f" {ans} " not in f" {ctx} ")
    if strategy == "overlap":
        ans_toks = ans.split()
        ctx_toks = set(ctx.split())
        share = sum(t in ctx_toks for t in ans_toks) / len(ans_toks)
        return float(share < overlap_threshold)
    raise ValueError(
        f"unknown unsupported_strategy {strategy!r}; expected one of {', '.join(UNSUPPORTED_STRATEGIES)}"
    )
