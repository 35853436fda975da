"""predictions.csv: one row per planned unit, from a trial's results.jsonl (the parse stage).

Token counts an engine did not report are -1 (unknown), never 0, in this module; the parse
stage then counts them (evalcli.science.tokens) and `tokens_source` says how each row's
counts were made: engine | tokenizer | tiktoken | estimate.
Columns keep the predecessor's first 13 (so its files and ours read alike) and add what it
dropped: latency, status, error, attempts, worker, tokens_source, and when the unit ran
(started_at/ended_at, epoch seconds) and the worker's CPU time on it (cpu_ms). A failed unit is a row with
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
    "started_at", "ended_at", "cpu_ms",
]


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
    # a failed unit's record carries no counts (its engine reported none): unknown, not 0
    prompt, completion = ((record.prompt_tokens, record.completion_tokens)
                          if record.status == "ok" else (-1, -1))
    row.update(
        request_id=record.request_id, finish_reason=record.finish_reason,
        response_text=record.text, prompt_tokens=prompt, completion_tokens=completion,
        total_tokens=prompt + completion if min(prompt, completion) >= 0 else -1,
        latency_ms=record.latency_ms, status=record.status, error=record.error,
        attempts=record.attempts, worker=record.worker, tokens_source="engine",
        started_at=record.started_at or "", ended_at=record.ended_at or "",
        cpu_ms=record.timings.get("worker_cpu_ms", ""),
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
    _no_field_limit()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            from evalcli.errors import DataError

            raise DataError(
                f"{path}: no column {missing[0]!r} — a predictions file needs the columns "
                f"{', '.join(REQUIRED)} (header has: {', '.join(header) or 'nothing'})"
            )
        line = reader.line_num + 1
        for row in reader:
            row = {k: spreadsheet_text(v) if isinstance(v, str) else v for k, v in row.items()}
            row["_line"] = line
            line = reader.line_num + 1
            if not row.get("status"):
                row["status"] = "failed" if row.get("finish_reason") == "error" else "ok"
            for key in TOKEN_COLUMNS:
                row[key] = _count(row.get(key))
            row["latency_ms"] = _float(row.get("latency_ms"))
            for key in ("started_at", "ended_at", "cpu_ms"):  # 0.0 = not recorded
                row[key] = _float(row.get(key))
            yield row


def _count(value) -> int:
    """A token count; -1 (unknown) when absent, empty or not a number."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return -1


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
