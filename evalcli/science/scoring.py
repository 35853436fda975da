"""Per-answer scoring: pure functions from (answer text, Item) to an AnswerScore.

    raw text ──► outcome: "empty"     nothing left after normalisation ──► 0 on every metric
                          "echo"      repeats the prompt (refusals.is_echo) ─► 0 on every metric
                          "abstained" every sentence declines (refusals.is_abstention)
                          "answer"    anything else
    answer / abstained ──► prediction ("" if abstained) ──► normalize_answer (SQuAD 2.0)
        ├─► exact_match / f1_score  (max over golds; unanswerable gold = "")
        ├─► false_answer            (unanswerable items only)
        └─► unsupported             (open-book items the model answered)

Everything here follows the official SQuAD 2.0 evaluation script (``evaluate-v2.0.py``):
normalisation = lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse
whitespace; EM and token F1 are maxima over the gold answers; gold answers that normalise
to "" are ignored and an item with none left (an unanswerable item) has the single gold "".

Abstention is decided on the *raw* text, never the normalised one (the predecessor
normalised first, which removed the apostrophe of "I don't know" so it never matched).
An empty answer is a failure to answer (a stop sequence hit first, a filter, a truncation),
never a correct abstention. See docs/scoring.md.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from evalcli.inputs.items import Item
from evalcli.science.normalize import normalize_answer
from evalcli.science.refusals import is_abstention, is_echo

__all__ = ["normalize_answer", "exact_match", "f1_score", "score_answer", "unsupported_score",
           "AnswerScore", "OUTCOMES", "UNSUPPORTED_STRATEGIES"]

UNSUPPORTED_STRATEGIES = ("baseline", "overlap")


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


OUTCOMES = ("answer", "abstained", "empty", "echo")


class AnswerScore(msgspec.Struct, frozen=True):
    """The score of one answer to one item (one sample)."""

    em: float
    f1: float
    abstained: bool
    false_answer: float | None  # unanswerable items only: 1.0 = answered anyway
    unsupported: float | None  # open-book items the model answered: 1.0 = not in the passage
    outcome: str = "answer"  # one of OUTCOMES


def score_answer(
    text: str,
    item: Item,
    *,
    abstain_phrases: tuple[str, ...] | list[str] = (),
    echo_sources: tuple = (),
    unsupported_strategy: str = "baseline",
    overlap_threshold: float = 0.5,
) -> AnswerScore:
    """Score one answer.

    - outcome "empty": nothing left after normalisation (empty, whitespace, punctuation
      only) — and "echo": the answer repeats a prompt (``refusals.echo_sources``). Neither
      is an answer or an abstention: EM = F1 = 0, abstained False, false_answer 0.0 on
      unanswerable items, unsupported None.
    - abstained: every sentence declines to answer (``refusals.is_abstention`` with the
      built-in patterns plus ``abstain_phrases``) — but an answer that exactly matches a gold
      answer is never an abstention (a gold "Unknown" answered "Unknown" is correct).
    - EM/F1: an abstention is scored as the prediction "" (unanswerable: 1, 1; answerable: 0, 0).
    - false_answer: unanswerable items only: 1.0 if the model answered, else 0.0.
    - unsupported: open-book items where the model answered (see ``unsupported_score``).
    """
    if unsupported_strategy not in UNSUPPORTED_STRATEGIES:
        raise ValueError(
            f"unknown unsupported_strategy {unsupported_strategy!r}; "
            f"expected one of {', '.join(UNSUPPORTED_STRATEGIES)}"
        )
    golds = list(item.answers) if item.answerable else []
    normalized = normalize_answer(text)
    if not normalized or (echo_sources and is_echo(normalized, echo_sources)):
        return AnswerScore(em=0.0, f1=0.0, abstained=False,
                           false_answer=None if item.answerable else 0.0, unsupported=None,
                           outcome="echo" if normalized else "empty")
    abstained = is_abstention(text, abstain_phrases)
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
    return AnswerScore(em=em, f1=f1, abstained=abstained, false_answer=false_answer,
                       unsupported=unsupported, outcome="abstained" if abstained else "answer")


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
