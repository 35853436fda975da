"""TriviaQA: the official rc or unfiltered JSON (e.g. `qa/wikipedia-dev.json`) as closed-book items.

    {"Data": [{"QuestionId", "Question", "Answer": {"Value", "Aliases", "NormalizedAliases", ...}}]}

    item_id = QuestionId       answers = [Value] + Aliases, deduplicated, order kept
    Evidence (EntityPages, SearchResults) is ignored: the question is asked alone.
    A QuestionId listed twice for the same question (once per evidence domain) is one item.
The test files have no `Answer`: load a dev (or train) file.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from evalcli.errors import DataError
from evalcli.inputs.datasets.files import decode_json
from evalcli.inputs.datasets.records import DOCS, Located, clean, closed_items
from evalcli.inputs.datasets.sources import DatasetSource

HINT = (
    f'use the official TriviaQA JSON ({{"Data": [{{"QuestionId", "Question", "Answer"}}]}}); '
    f"test files have no answers, use a dev file ({DOCS})"
)


class _Answer(msgspec.Struct, kw_only=True, rename={"value": "Value", "aliases": "Aliases"}):
    value: str
    aliases: list[str] = []


class _Question(msgspec.Struct, rename="pascal"):
    question_id: str
    question: str
    answer: _Answer


class _File(msgspec.Struct, rename="pascal"):
    data: list[_Question]


def trivia_items(records: list[tuple[str, str, str, list[str]]], dataset: str) -> list[Located]:
    """(where, question id, question, answers) -> items; a repeated id asking the same question
    is one item (the rc files and HF rc.* list a question once per evidence domain)."""
    first: dict[str, tuple[str, str, list[str]]] = {}
    for where, qid, question, answers in records:
        if qid not in first:
            first[qid] = (where, question, answers)
        elif clean(first[qid][1]) != clean(question):
            raise DataError(
                f"duplicate QuestionId {qid} with different questions: {first[qid][0]} and {where} "
                "— QuestionIds must be unique; fix the file"
            )
    return closed_items(first, dataset)


def load_triviaqa(source: DatasetSource, path: Path, label: str) -> list[Located]:
    doc = decode_json(path, label, _File, HINT)
    records = [
        (
            f"{label} at Data[{i}] (QuestionId {q.question_id})",
            q.question_id,
            q.question,
            [q.answer.value, *q.answer.aliases],
        )
        for i, q in enumerate(doc.data)
    ]
    return trivia_items(records, source.dataset_name())
