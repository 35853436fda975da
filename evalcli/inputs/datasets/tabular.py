"""Generic files: JSONL (one JSON object per line) and CSV (a header row, then one row per item).

    file ──► rows of {column: value} ──► Columns maps canonical fields to column names
                                           (columns = {question = "Q", answers = "gold"})
         ──► values parsed per field ──► make_item() ──► Located

Per field: `answers` is a JSON list (or one string) in JSONL, and one cell split on
`answers_sep` in CSV; `answerable` accepts true/false/yes/no/1/0 and defaults to
"has answers" for open-book items; the item type is the source's `type`, else the row's
`type` column, else "open" when the row has a passage and "closed" when it does not.
A row without an id gets `question_id(question)`; an open-book row without a group is
grouped by its passage (items on one passage are not independent).
CSV is read as UTF-8 (a BOM is accepted) with `newline=""`, comma-separated, quoted as Excel does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalcli.errors import DataError
from evalcli.inputs.datasets.files import iter_jsonl, read_text
from evalcli.inputs.datasets.records import DOCS, Located, make_item, question_id
from evalcli.inputs.datasets.sources import COLUMN_FIELDS, DatasetSource

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
JSONL_HINT = f"each line needs question and answers ({DOCS})"
CSV_HINT = f"the first row names the columns, each later row is one item ({DOCS})"


def _text(value: Any, field: str, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    what = "a list of texts" if field == "answers" else "a text"
    raise DataError(
        f'{where}: field "{field}" must be text, found {type(value).__name__} — give {what} ({DOCS})'
    )


def _answerable(value: Any, where: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        if not word:
            return None
    raise DataError(f'{where}: field "answerable" is {value!r} — use true or false ({DOCS})')


class _Rows:
    """Turns one row (dict of column -> raw value) into a Located item for a source."""

    def __init__(self, source: DatasetSource, split_answers: str | None):
        self.source = source
        self.dataset = source.dataset_name()
        self.col = {field: source.columns.get(field, field) for field in COLUMN_FIELDS}
        self.split_answers = split_answers  # CSV: the separator; JSONL: None (a JSON list)
        self.hint = CSV_HINT if split_answers is not None else JSONL_HINT

    def answers(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        if self.split_answers is not None:
            return _text(value, "answers", where).split(self.split_answers)
        if isinstance(value, list):
            return [_text(v, "answers", where) for v in value]
        return [_text(value, "answers", where)]

    def missing(self, field: str, where: str) -> DataError:
        column = self.col[field]
        name = f'"{column}"' if column == field else f'"{column}" ({field})'
        return DataError(f"{where}: field {name} is missing — {self.hint}")

    def item(self, row: dict[str, Any], where: str) -> Located:
        col = self.col

        def get(field: str) -> Any:
            return row.get(col[field])

        if col["question"] not in row:
            raise self.missing("question", where)
        question = _text(get("question"), "question", where)
        answerable = _answerable(get("answerable"), where)
        if col["answers"] not in row and answerable is not False:
            raise self.missing("answers", where)
        answers = self.answers(get("answers"), where)
        passage = _text(get("passage"), "passage", where)
        kind = self.source.type or _text(get("type"), "type", where).strip().lower()
        if not kind:
            kind = "open" if passage.strip() else "closed"
        if col["item_id"] in row:
            item_id = _text(get("item_id"), "item_id", where)
        elif "item_id" in self.source.columns:
            raise self.missing("item_id", where)
        else:
            item_id = question_id(question)
        group = _text(get("group"), "group", where)
        if kind == "open" and not group.strip() and passage.strip():
            group = "passage:" + question_id(passage)[:12]
        return make_item(
            where=where,
            dataset=self.dataset,
            item_id=item_id,
            type=kind,
            question=question,
            answers=answers,
            passage=passage,
            answerable=answerable,
            group=group,
        )


def load_jsonl(source: DatasetSource, path: Path, label: str) -> list[Located]:
    rows = _Rows(source, None)
    return [rows.item(obj, f"{label} line {n}") for n, obj in iter_jsonl(path, label, JSONL_HINT)]


def _csv_rows(text: str, label: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{label} line {start}: CSV is malformed ({exc}) — {CSV_HINT}"
            ) from None
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def load_csv(source: DatasetSource, path: Path, label: str) -> list[Located]:
    rows = _Rows(source, source.answers_sep)
    lines = _csv_rows(read_text(path, label), label)
    header_line, header = next(lines, (0, []))
    header = [name.strip() for name in header]
    if not header:
        raise DataError(f"{label}: the file is empty — {CSV_HINT}")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(
                f'{label} line {header_line}: column "{name}" appears twice — rename one of them'
            )
        seen.add(name)
    needed = ["question", "answers", *source.columns]
    for field in dict.fromkeys(needed):
        column = rows.col[field]
        if column not in seen:
            raise DataError(
                f'{label}: no column "{column}" for {field} (columns found: {", ".join(header)}) '
                f'— rename the column or set columns = {{ {field} = "<column>" }} in [[datasets]]'
            )
    out = []
    for number, cells in lines:
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            raise DataError(
                f"{label} line {number}: {len(cells)} cells but the header has "
                f"{len(header)} columns — quote cells that contain commas"
            )
        cells = (cells + [""] * len(header))[: len(header)]  # short rows: last columns empty
        row = dict(zip(header, cells, strict=True))
        out.append(rows.item(row, f"{label} line {number}"))
    return out
