"""predictions.csv: one row per planned unit, from a trial's results.jsonl (the parse stage).

Token counts come from the result record, as recorded when the unit finished (the engine's,
or counted then: evalcli/run/token_counts.py); `tokens_source` says how each row's counts
were made: engine | tokenizer | tiktoken | estimate. A record written before counts were
recorded at the finish (an older evalcli) that lacks one — a failed unit, or an engine that
reported none — keeps -1 (unknown, never 0 and never counted afresh here) with source
`not_recorded`.
Columns keep the predecessor's first 13 (so its files and ours read alike) and add what it
dropped: latency, status, error, attempts, worker, tokens_source, and when the unit ran
(started_at/ended_at, epoch seconds) and the worker's CPU time on it (cpu_ms), and for an
answer taken from the answer store the run and unit that made it (reused_from, "run:unit"). A failed unit is a row with
status "failed", finish_reason "error", an empty response_text and the error text — it is
never scored as an answer. A unit without a result is "pending", or "skipped" when a
sequential run stopped at its verdict before running it (neither failed nor scored). `read_predictions` also reads the predecessor's files (no status
column: a finish_reason of "error" means failed).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from evalcli.store.customid import parse_custom_id
from evalcli.store.fsutil import atomic_write_csv, spreadsheet_text
from evalcli.store.results import ResultRecord

COLUMNS = [
    "custom_id", "dataset", "item_id", "condition", "temp", "sample_index", "type",
    "request_id", "finish_reason", "response_text", "prompt_tokens", "completion_tokens",
    "total_tokens", "latency_ms", "status", "error", "attempts", "worker", "tokens_source",
    "started_at", "ended_at", "cpu_ms", "reused_from",
]


NOT_RECORDED = "not_recorded"  # tokens_source of a count missing from an older record


def token_counts(record: ResultRecord) -> tuple[int, int, str]:
    """(prompt tokens, completion tokens, tokens_source) of a record; -1 = unknown."""
    if record.tokens_source:  # counted when the unit finished: the engine reported none
        return record.prompt_tokens, record.completion_tokens, record.tokens_source
    if record.status == "failed":  # an older record: a failed unit's prompt was not counted
        return -1, -1, NOT_RECORDED
    prompt, completion = record.prompt_tokens, record.completion_tokens
    return prompt, completion, "engine" if min(prompt, completion) >= 0 else NOT_RECORDED


def prediction_row(custom_id: str, record: ResultRecord | None,
                   missing: str = "pending") -> dict:
    """`missing`: the status of a unit without a result — "pending" (not run yet) or
    "skipped" (a sequential run stopped at its verdict before it)."""
    cid = parse_custom_id(custom_id)
    row = {"custom_id": custom_id, "dataset": cid.dataset, "item_id": cid.item_id,
           "condition": cid.condition, "temp": cid.temp, "sample_index": cid.sample_index,
           "type": cid.type}
    if record is None:
        row.update(status=missing, finish_reason="", response_text="")
        return row
    prompt, completion, source = token_counts(record)
    row.update(
        request_id=record.request_id, finish_reason=record.finish_reason,
        response_text=record.text, prompt_tokens=prompt, completion_tokens=completion,
        total_tokens=prompt + completion if min(prompt, completion) >= 0 else -1,
        latency_ms=record.latency_ms, status=record.status, error=record.error,
        attempts=record.attempts, worker=record.worker, tokens_source=source,
        started_at=record.started_at or "", ended_at=record.ended_at or "",
        cpu_ms=record.timings.get("worker_cpu_ms", ""),
        reused_from=record.reused_from.label() if record.reused_from is not None else "",
    )
    return row


def write_predictions(path: Path, rows: Iterable[dict]) -> None:
    """Stream `rows` (any iterable) into predictions.csv, atomically."""
    atomic_write_csv(path, COLUMNS, rows, extrasaction="ignore")


REQUIRED = ("custom_id", "condition", "response_text")
TOKEN_COLUMNS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _no_field_limit() -> None:
    """Lift the csv module's 131,072-character field limit (a long answer is data, not an
    error). sys.maxsize overflows a C long on Windows: halve until accepted."""
    import sys

    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def read_predictions(path: Path) -> list[dict]:
    """Every row of iter_predictions(path), as a list."""
    return list(iter_predictions(path))


class PredictionsFile:
    """predictions.csv as a source to read more than once without holding it: each
    iteration streams the file anew (iter_predictions)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[dict]:
        return iter_predictions(self.path)


def iter_predictions(path: Path) -> Iterator[dict]:
    """Rows as dicts with typed numbers, streamed; also accepts the predecessor's
    predictions.csv.

    - required columns: REQUIRED (a missing one is a DataError naming it and the file);
    - no `status` column (the predecessor's files): a `finish_reason` of "error" is a failed
      unit, anything else — including no `finish_reason` column at all — an answer;
    - token counts missing (no column, or an empty cell) are -1 = unknown, never 0;
    - each row carries `_line`, the file line it starts on (for error messages);
    - a cell made spreadsheet-safe ("'=..." for "=...": fsutil.spreadsheet_cell) reads back
      as the value it was.
    """
    from evalcli.errors import DataError

    _no_field_limit()
    line = 1
    try:
        with open(path, "rb") as raw:
            start = raw.read(4)
        if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise DataError(f"{path}: the file is UTF-16 text — save it as UTF-8 (in Excel: "
                            "CSV UTF-8)")
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DataError(
                    f"{path}: no column {missing[0]!r} — a predictions file needs the columns "
                    f"{', '.join(REQUIRED)} (header has: {', '.join(header) or 'nothing'})"
                )
            line = reader.line_num + 1
            for row in reader:
                row = {k: spreadsheet_text(v) if isinstance(v, str) else v
                       for k, v in row.items()}
                row["_line"] = line
                if not row.get("status"):
                    row["status"] = "failed" if row.get("finish_reason") == "error" else "ok"
                for key in TOKEN_COLUMNS:
                    row[key] = _count(row.get(key), path, line, key)
                for key in ("latency_ms", "started_at", "ended_at", "cpu_ms"):  # 0.0 = none
                    row[key] = _float(row.get(key), path, line, key)
                line = reader.line_num + 1
                yield row
    except UnicodeDecodeError:
        raise DataError(f"{path} line {_bad_utf8_line(path)}: not UTF-8 text — save the file "
                        "as UTF-8 (in Excel: CSV UTF-8)") from None
    except csv.Error as exc:
        raise DataError(f"{path} line {line}: not a readable CSV row ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _bad_utf8_line(path: Path) -> int:
    """The file line holding the first byte that is not UTF-8 (read in blocks)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as fh:
        while block := fh.read(1 << 16):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block.count(b"\n", 0, max(exc.start, 0))
            line += block.count(b"\n")
    return line


# a token count or a time beyond this is not one (a damaged or hand-edited cell)
_MAX_CELL = 1e15


def _count(value, path: Path | None = None, line: int = 0, column: str = "") -> int:
    """A token count; -1 (unknown) when absent, empty or not a number; DataError for an
    infinite or absurdly large number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return -1
    if not abs(number) <= _MAX_CELL:  # also nan
        _bad_number(value, path, line, column)
    return int(number)


def _bad_number(value, path, line, column) -> None:
    from evalcli.errors import DataError

    shown = str(value) if len(str(value)) <= 40 else str(value)[:37] + "..."
    raise DataError(f"{path} line {line}: {column} = {shown} is not a usable number (infinite, "
                    "not a number, or beyond 1e15) — fix the cell, or leave it empty for "
                    "unknown")


def _float(value, path: Path | None = None, line: int = 0, column: str = "") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    if not abs(number) <= _MAX_CELL:
        _bad_number(value, path, line, column)
    return number
