"""Answers a human should look at: short answers to unanswerable items that the refusal
detector classed as answers (so they count as false answers).

    score stage: each scored answer on an unanswerable item ──AnswerReview.add──►
        per condition: count of answers, and of each short answer (folded for counting)
    ──► review.json (Review) ──► the report's "Answers to review" list per arm

A refusal worded in a way the detector does not know shows up here as a frequent short
"answer" ("Not in the text.", "No info"). If it is one, add it to `[scoring]
abstain_phrases` and re-score without running the model (`evalcli resume RUN --from score
--abstain-phrase "..."`, or `evalcli analyze ... --abstain-phrase "..."`).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from evalcli.store.jsonfile import read_json, write_json

SHORT_WORDS = 8  # an answer of at most this many words is listed
SHOWN = 10  # the most frequent answers listed per arm


class ReviewedAnswer(msgspec.Struct, kw_only=True):
    text: str  # as first seen (stripped), for the report
    count: int


class ArmReview(msgspec.Struct, kw_only=True):
    answers_on_unanswerable: int = 0  # scored answers (not refusals, empty or echoes)
    short: list[ReviewedAnswer] = []  # the most frequent short ones, most frequent first


class Review(msgspec.Struct, kw_only=True):
    schema_version: int = 1
    short_words: int = SHORT_WORDS
    arms: dict[str, ArmReview] = {}


class AnswerReview:
    """Collects, per condition, the answers to unanswerable items classed as answers."""

    def __init__(self) -> None:
        self._answers: dict[str, int] = {}
        # condition -> folded text -> [the text as first seen, count]
        self._short: dict[str, dict[str, list[str | int]]] = {}

    def add(self, condition: str, text: str) -> None:
        self._answers[condition] = self._answers.get(condition, 0) + 1
        shown = " ".join(text.split())
        if not shown or len(shown.split()) > SHORT_WORDS:
            return
        folded = shown.lower().strip(" .!?\"'")
        entry = self._short.setdefault(condition, {}).setdefault(folded, [shown, 0])
        entry[1] = int(entry[1]) + 1

    def result(self) -> Review:
        arms = {}
        for condition, total in self._answers.items():
            ranked = sorted(((int(n), str(t)) for t, n in self._short.get(condition, {}).values()),
                            key=lambda e: (-e[0], e[1]))
            arms[condition] = ArmReview(answers_on_unanswerable=total, short=[
                ReviewedAnswer(text=text, count=count) for count, text in ranked[:SHOWN]])
        return Review(arms=arms)


def write_review(path: Path, review: Review) -> None:
    write_json(path, review)


def read_review(path: Path) -> Review | None:
    """review.json, or None when the run has none (written before it existed)."""
    return read_json(path, Review, redo="score") if path.exists() else None
