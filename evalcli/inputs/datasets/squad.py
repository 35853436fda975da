"""SQuAD 2.0 (and 1.1): the official JSON, e.g. `dev-v2.0.json`, as open-book items.

{"data": [{"title": ..., "paragraphs": [{"context": ...,
    "qas": [{"id", "question", "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}

item_id    = qas.id                       answers    = answers[].text (deduplicated, order kept)
passage    = paragraph context            answerable = not is_impossible (absent in 1.1: True)
group      = "<title>#<paragraph index>"  plausible_answers are ignored
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from evalcli.inputs.datasets.files import decode_json
from evalcli.inputs.datasets.records import DOCS, Located, make_item
from evalcli.inputs.datasets.sources import DatasetSource

HINT = f"use the official SQuAD 2.0 JSON (data[].paragraphs[].qas[]) ({DOCS})"


class _Answer(msgspec.Struct):
    text: str


class _QA(msgspec.Struct, kw_only=True):
    id: str
    question: str
    answers: list[_Answer] = []
    is_impossible: bool = False


class _Paragraph(msgspec.Struct):
    context: str
    qas: list[_QA]


class _Article(msgspec.Struct, kw_only=True):
    title: str = ""
    paragraphs: list[_Paragraph]


class _File(msgspec.Struct):
    data: list[_Article]


def load_squad(source: DatasetSource, path: Path, label: str) -> list[Located]:
    doc = decode_json(path, label, _File, HINT)
    dataset = source.dataset_name()
    out = []
    for a, article in enumerate(doc.data):
        title = article.title or f"article{a}"
        for p, paragraph in enumerate(article.paragraphs):
            for q, qa in enumerate(paragraph.qas):
                where = f"{label} at data[{a}].paragraphs[{p}].qas[{q}] (id {qa.id})"
                out.append(
                    make_item(
                        where=where,
                        dataset=dataset,
                        item_id=qa.id,
                        type="open",
                        question=qa.question,
                        answers=[] if qa.is_impossible else [x.text for x in qa.answers],
                        passage=paragraph.context,
                        answerable=not qa.is_impossible,
                        group=f"{title}#{p}",
                    )
                )
    return out
