"""predictions.csv: one row per planned unit, from a trial's results.jsonl (the parse stage).

    ResultRecord ──prediction_row──► PredictionRow ──write_predictions──► predictions.csv
    predictions.csv (ours, or the predecessor's 13 columns) ──iter_predictions──► PredictionRow

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
sequential run stopped at its verdict before running it (neither failed nor scored): its row
has only the unit's own columns and its status. `read_predictions` also reads the
predecessor's files (no status column: a finish_reason of "error" means failed).

Every module reads a row as a `PredictionRow` (attributes, never string keys); only this
module knows the cells.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, NoReturn, get_args

import msgspec

from evalcli.store.customid import parse_custom_id
from evalcli.store.fsutil import atomic_write_csv, spreadsheet_text
from evalcli.store.results import ResultRecord

Status = Literal["ok", "failed", "pending", "skipped"]
STATUSES: tuple[str, ...] = get_args(Status)
# a unit that never ran: no answer, no numbers (pending: not yet; skipped: a sequential run
# stopped at its verdict before it)
NOT_RUN = ("pending", "skipped")


class PredictionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of predictions.csv. Fields in COLUMNS order, then `line`.

    Unknown numbers: token counts and sample_index -1; latency_ms, started_at and ended_at
    0.0; attempts 0; worker -1; cpu_ms and temp None (an older row, a predecessor's file)."""

    custom_id: str
    dataset: str = ""
    item_id: str = ""
    condition: str = ""
    temp: float | None = None
    sample_index: int = -1
    type: str = ""
    request_id: str = ""
    finish_reason: str = ""
    response_text: str = ""
    prompt_tokens: int = -1
    completion_tokens: int = -1
    total_tokens: int = -1
    latency_ms: float = 0.0
    status: Status = "ok"
    error: str = ""
    attempts: int = 0
    worker: int = -1
    tokens_source: str = ""  # engine | tokenizer | tiktoken | estimate | not_recorded | ""
    started_at: float = 0.0
    ended_at: float = 0.0
    cpu_ms: float | None = None
    reused_from: str = ""  # "run:unit" of an answer taken from the answer store
    line: int = 0  # the file line the row starts on (read_predictions), for error messages


COLUMNS = [name for name in PredictionRow.__struct_fields__ if name != "line"]

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
                   missing: Literal["pending", "skipped"] = "pending") -> PredictionRow:
    """`missing`: the status of a unit without a result — "pending" (not run yet) or
    "skipped" (a sequential run stopped at its verdict before it)."""
    cid = parse_custom_id(custom_id)
    if record is None:
        return PredictionRow(custom_id=custom_id, dataset=cid.dataset, item_id=cid.item_id,
                             condition=cid.condition, temp=cid.temp,
                             sample_index=cid.sample_index, type=cid.type, status=missing)
    prompt, completion, source = token_counts(record)
    cpu = record.timings.get("worker_cpu_ms")
    return PredictionRow(
        custom_id=custom_id, dataset=cid.dataset, item_id=cid.item_id,
        condition=cid.condition, temp=cid.temp, sample_index=cid.sample_index, type=cid.type,
        request_id=record.request_id, finish_reason=record.finish_reason,
        response_text=record.text, prompt_tokens=prompt, completion_tokens=completion,
        total_tokens=prompt + completion if min(prompt, completion) >= 0 else -1,
        latency_ms=record.latency_ms, status=record.status, error=record.error,
        attempts=record.attempts, worker=record.worker, tokens_source=source,
        started_at=record.started_at, ended_at=record.ended_at,
        cpu_ms=None if cpu is None else float(cpu),
        reused_from=record.reused_from.label() if record.reused_from is not None else "",
    )


_Cell = str | int | float


def _cells(row: PredictionRow) -> dict[str, _Cell]:
    """The row's cells: a unit that never ran has only its own columns and its status; an
    unrecorded time or CPU time is an empty cell."""
    cells: dict[str, _Cell] = {
        "custom_id": row.custom_id, "dataset": row.dataset, "item_id": row.item_id,
        "condition": row.condition, "temp": "" if row.temp is None else row.temp,
        "sample_index": row.sample_index, "type": row.type, "status": row.status,
        "finish_reason": row.finish_reason, "response_text": row.response_text}
    if row.status in NOT_RUN:
        return cells
    cells.update(
        request_id=row.request_id, prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens, total_tokens=row.total_tokens,
        latency_ms=row.latency_ms, error=row.error, attempts=row.attempts, worker=row.worker,
        tokens_source=row.tokens_source, started_at=row.started_at or "",
        ended_at=row.ended_at or "", cpu_ms="" if row.cpu_ms is None else row.cpu_ms,
        reused_from=row.reused_from)
    return cells


def write_predictions(path: Path, rows: Iterable[PredictionRow]) -> None:
    """Stream `rows` (any iterable) into predictions.csv, atomically."""
    atomic_write_csv(path, COLUMNS, (_cells(row) for row in rows))


REQUIRED = ("custom_id", "condition", "response_text")


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


def read_predictions(path: Path) -> list[PredictionRow]:
    """Every row of iter_predictions(path), as a list."""
    return list(iter_predictions(path))


class PredictionsFile:
    """predictions.csv as a source to read more than once without holding it: each
    iteration streams the file anew (iter_predictions)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[PredictionRow]:
        return iter_predictions(self.path)


def iter_predictions(path: Path) -> Iterator[PredictionRow]:
    """The file's rows, typed and streamed; also accepts the predecessor's predictions.csv.

    - required columns: REQUIRED (a missing one is a DataError naming it and the file);
    - no `status` column (the predecessor's files): a `finish_reason` of "error" is a failed
      unit, anything else — including no `finish_reason` column at all — an answer;
    - a number missing (no column, an empty cell, not a number) is unknown (see
      PredictionRow: token counts -1, never 0); an infinite or absurd one, or a status that
      is not one of STATUSES, is a DataError naming the file, line and column;
    - each row carries `line`, the file line it starts on (for error messages);
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
            reader = csv.reader(fh)
            header = next(reader, [])
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DataError(
                    f"{path}: no column {missing[0]!r} — a predictions file needs the columns "
                    f"{', '.join(REQUIRED)} (header has: {', '.join(header) or 'nothing'})"
                )
            # each column's cell in a row (a name given twice: the last; none: an empty
            # cell put after the row's own)
            width = len(header)
            last = {name: i for i, name in enumerate(header)}
            where = [last.get(name, width) for name in COLUMNS]
            line = reader.line_num + 1
            for cells in reader:
                if cells:  # a blank line is no row
                    cells += [""] * (width + 1 - len(cells))
                    yield _row([cells[i] for i in where], path, line)
                line = reader.line_num + 1
    except UnicodeDecodeError:
        raise DataError(f"{path} line {_bad_utf8_line(path)}: not UTF-8 text — save the file "
                        "as UTF-8 (in Excel: CSV UTF-8)") from None
    except csv.Error as exc:
        raise DataError(f"{path} line {line}: not a readable CSV row ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _row(cells: list[str], path: Path, line: int) -> PredictionRow:
    """One data row's cells, in COLUMNS order (an absent column's cell empty), as a
    PredictionRow."""
    (custom_id, dataset, item_id, condition, temp, sample_index, kind, request_id,
     finish_reason, response_text, prompt_tokens, completion_tokens, total_tokens, latency_ms,
     status, error, attempts, worker, tokens_source, started_at, ended_at, cpu_ms,
     reused_from) = [spreadsheet_text(c) if c[:1] == "'" else c for c in cells]
    if not status:
        status = "failed" if finish_reason == "error" else "ok"
    elif status not in STATUSES:
        shown = status if len(status) <= 40 else status[:37] + "..."
        from evalcli.errors import DataError

        raise DataError(f"{path} line {line}: status = {shown} is not one of "
                        f"{', '.join(STATUSES)} — fix the cell, or leave it empty (an "
                        "answer, or failed where finish_reason is \"error\")")
    return PredictionRow(
        custom_id=custom_id, dataset=dataset,
        item_id=item_id, condition=condition,
        temp=_float(temp, path, line, "temp"),
        sample_index=_count(sample_index, path, line, "sample_index"),
        type=kind, request_id=request_id,
        finish_reason=finish_reason, response_text=response_text,
        prompt_tokens=_count(prompt_tokens, path, line, "prompt_tokens"),
        completion_tokens=_count(completion_tokens, path, line, "completion_tokens"),
        total_tokens=_count(total_tokens, path, line, "total_tokens"),
        latency_ms=_float(latency_ms, path, line, "latency_ms") or 0.0,
        status=status,  # type: ignore[arg-type]  # checked against STATUSES above
        error=error,
        attempts=max(_count(attempts, path, line, "attempts"), 0),
        worker=_count(worker, path, line, "worker"),
        tokens_source=tokens_source,
        started_at=_float(started_at, path, line, "started_at") or 0.0,
        ended_at=_float(ended_at, path, line, "ended_at") or 0.0,
        cpu_ms=_float(cpu_ms, path, line, "cpu_ms"), reused_from=reused_from,
        line=line)


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


def _count(cell: str, path: Path, line: int, column: str) -> int:
    """A count; -1 (unknown) when empty or not a number; DataError for an infinite or
    absurdly large number."""
    number = _float(cell, path, line, column)
    return -1 if number is None else int(number)


def _float(cell: str, path: Path, line: int, column: str) -> float | None:
    """A number; None (unknown) when empty or not a number; DataError for an infinite or
    absurdly large number."""
    try:
        number = float(cell)
    except ValueError:
        return None
    if not abs(number) <= _MAX_CELL:  # also nan
        _bad_number(cell, path, line, column)
    return number


def _bad_number(value: str, path: Path, line: int, column: str) -> NoReturn:
    from evalcli.errors import DataError

    shown = value if len(value) <= 40 else value[:37] + "..."
    raise DataError(f"{path} line {line}: {column} = {shown} is not a usable number (infinite, "
                    "not a number, or beyond 1e15) — fix the cell, or leave it empty for "
                    "unknown")
