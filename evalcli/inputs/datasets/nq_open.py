"""Natural Questions Open: the official JSONL (`NQ-open.dev.jsonl`) as closed-book items.

    {"question": "who wrote ...", "answer": ["...", "..."]}     one per line

The format has no id field, so item_id = `question_id(question)`: the MD5 hex digest of the
whitespace-collapsed question, stable across runs, machines and file order. A question that
appears on two lines becomes one item whose answers are the union of both lines' answers.
"""

from __future__ import annotations

from pathlib import Path

from evalcli.errors import DataError
from evalcli.inputs.datasets.files import iter_jsonl
from evalcli.inputs.datasets.records import DOCS, Located, closed_items, question_id
from evalcli.inputs.datasets.sources import DatasetSource

HINT = f'each line needs "question" (text) and "answer" (a list of texts) ({DOCS})'


def nq_items(records: list[tuple[str, str, list[str]]], dataset: str) -> list[Located]:
    """(where, question, answers) records -> items keyed by question hash, repeats merged."""
    merged: dict[str, tuple[str, str, list[str]]] = {}
    for where, question, answers in records:
        qid = question_id(question)
        if qid in merged:
            first_where, first_question, first_answers = merged[qid]
            merged[qid] = (first_where, first_question, first_answers + answers)
        else:
            merged[qid] = (where, question, answers)
    return closed_items(merged, dataset)


def load_nq_open(source: DatasetSource, path: Path, label: str) -> list[Located]:
    records = []
    for number, obj in iter_jsonl(path, label, HINT):
        where = f"{label} line {number}"
        question, answers = obj.get("question"), obj.get("answer")
        for field, value in (("question", question), ("answer", answers)):
            if value is None:
                raise DataError(f'{where}: field "{field}" is missing — {HINT}')
        if not isinstance(question, str):
            raise DataError(f'{where}: field "question" must be text — {HINT}')
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise DataError(f'{where}: field "answer" must be a list of texts — {HINT}')
        records.append((where, question, answers))
    return nq_items(records, source.dataset_name())
