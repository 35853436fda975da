"""From raw field values to a checked canonical `Item`: the rules every loader shares.

    loader (squad, triviaqa, nq_open, tabular, hub)
        │  raw values + where ("data/dev.jsonl line 17")
        ▼
    make_item()  collapse whitespace, check id / question / answers / passage / answerable
        │        -> DataError "<where>: <what is wrong> — <fix>"
        ▼
    Located(item, where)   `where` stays with the item so duplicates can name both places

Question ids for sources without an id field are `question_id(question)`: the MD5 hex digest
of the whitespace-collapsed question (UTF-8). MD5 is used as a stable name, not for security.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from evalcli.errors import DataError
from evalcli.inputs.items import Item

DOCS = "see docs/datasets.md"


class Located(NamedTuple):
    item: Item
    where: str


def clean(text: str) -> str:
    """Collapse every run of whitespace (newlines, tabs, NBSP...) to one space and strip."""
    return " ".join(text.split())


def question_id(question: str) -> str:
    """Stable id for a record without one: md5 hex of the collapsed question."""
    return hashlib.md5(clean(question).encode("utf-8"), usedforsecurity=False).hexdigest()


def dedup(values: list[str]) -> list[str]:
    """Cleaned, non-empty, first occurrence kept, order kept."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean(value)
        if text:
            seen.setdefault(text, None)
    return list(seen)


def closed_items(by_id: dict[str, tuple[str, str, list[str]]], dataset: str) -> list[Located]:
    """Closed-book items from {item_id: (where, question, answers)} (TriviaQA, NQ-Open)."""
    return [
        make_item(where=where, dataset=dataset, item_id=item_id, type="closed",
                  question=question, answers=answers)
        for item_id, (where, question, answers) in by_id.items()
    ]


def make_item(
    *,
    where: str,
    dataset: str,
    item_id: str,
    type: str,
    question: str,
    answers: list[str],
    passage: str = "",
    answerable: bool | None = None,
    group: str = "",
) -> Located:
    """Build one Item with every shared check; `answerable=None` means infer from answers."""
    item_id = item_id.strip()
    if not item_id:
        raise DataError(f'{where}: field "item_id" is empty — give every item an id ({DOCS})')
    if "|" in item_id:
        raise DataError(
            f'{where}: item id "{item_id}" contains "|", which separates the parts of a '
            f'custom_id — remove or replace the "|" in this id'
        )
    question = clean(question)
    if not question:
        raise DataError(
            f'{where}: field "question" is empty — every item needs a question ({DOCS})'
        )
    answers = dedup(answers)
    if type == "closed":
        passage = ""  # a closed-book source may carry a passage column: the question goes alone
        if answerable is False:
            raise DataError(
                f"{where}: a closed-book item cannot be unanswerable — only open-book "
                f"items (with a passage) may be ({DOCS})"
            )
        if not answers:
            raise DataError(
                f'{where}: field "answers" is empty — a closed-book item needs at '
                f"least one gold answer ({DOCS})"
            )
        answerable = True
    elif type == "open":
        passage = clean(passage)
        if not passage:
            raise DataError(
                f'{where}: field "passage" is empty — an open-book item needs the '
                f'passage it is asked about (or use type "closed") ({DOCS})'
            )
        if answerable is None:
            answerable = bool(answers)
        elif answerable and not answers:
            raise DataError(
                f'{where}: field "answers" is empty but the item is answerable — '
                f"give its gold answers, or mark it unanswerable ({DOCS})"
            )
        elif not answerable and answers:
            raise DataError(
                f'{where}: the item is unanswerable but field "answers" is not empty — '
                f"leave answers empty for unanswerable items ({DOCS})"
            )
    else:
        raise DataError(f'{where}: field "type" is "{type}" — use "open" or "closed" ({DOCS})')
    item = Item(
        dataset=dataset,
        item_id=item_id,
        type=type,
        question=question,
        answers=answers,
        passage=passage,
        answerable=answerable,
        group=clean(group),
    )
    return Located(item, where)


def check_unique(located: list[Located]) -> None:
    """Raise DataError naming both places for the first key (dataset|item_id) seen twice."""
    first: dict[str, str] = {}
    for item, where in located:
        key = item.key
        if key in first:
            raise DataError(
                f'duplicate item key "{key}": {first[key]} and {where} — item ids must be unique '
                f"within a dataset; fix the id, or give one of the sources its own `name`"
            )
        first[key] = where
