"""TriviaQA: the official rc or unfiltered JSON (e.g. `qa/wikipedia-dev.json`) as closed-book items.

    {"Data": [{"QuestionId", "Question", "Answer": {"Value", "Aliases", "NormalizedAliases", ...}}]}

    item_id = QuestionId       answers = [Value] + Aliases, deduplicated, order kept
    Evidence (EntityPages, SearchResults) is ignored: the question is asked alone.
The test files have no `Answer`: load a dev (or train) file.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from evalcli.datasets.files import decode_json
from evalcli.datasets.records import DOCS, Located, make_item
from evalcli.datasets.sources import DatasetSource

HINT = (
    f'expected the official TriviaQA JSON ({{"Data": [{{"QuestionId", "Question", "Answer"}}]}}); '
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


def load_triviaqa(source: DatasetSource, path: Path, label: str) -> list[Located]:
    doc = decode_json(path, label, _File, HINT)
    dataset = source.dataset_name()
    return [
        make_item(
            where=f"{label} at Data[{i}] (QuestionId {q.question_id})",
            dataset=dataset,
            item_id=q.question_id,
            type="closed",
            question=q.question,
            answers=[q.answer.value, *q.answer.aliases],
        )
        for i, q in enumerate(doc.data)
    ]
