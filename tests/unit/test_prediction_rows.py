"""predictions.csv rows as PredictionRow: written and read back equal, the file's bytes as
they always were, the predecessor's 13 columns read into the same type, bad cells named."""

from __future__ import annotations

import csv

import msgspec
import pytest

from evalcli.errors import DataError
from evalcli.store.predictions import (
    COLUMNS,
    PredictionRow,
    prediction_row,
    read_predictions,
    write_predictions,
)
from evalcli.store.results import ResultRecord, ReusedFrom

PREDECESSOR_COLUMNS = ["custom_id", "dataset", "item_id", "condition", "temp", "sample_index",
                       "type", "request_id", "finish_reason", "response_text", "prompt_tokens",
                       "completion_tokens", "total_tokens"]


def _rows() -> list[PredictionRow]:
    ok = ResultRecord(custom_id="d|a|control|0.0|0|closed", status="ok", text="=SUM(A1)",
                      finish_reason="stop", prompt_tokens=12, completion_tokens=3,
                      latency_ms=45.25, request_id="r1", worker=1, attempts=1,
                      timings={"worker_cpu_ms": 0.0}, started_at=1700000000.125,
                      ended_at=1700000001.5)
    failed = ResultRecord(custom_id="d|b|control|0.7|1|open", status="failed",
                          finish_reason="error", worker=0, attempts=3, error="boom\r\nline",
                          error_kind="crash")
    counted = ResultRecord(custom_id="d|d|treat|0.0|0|closed", status="failed",
                           prompt_tokens=17, tokens_source="tokenizer", error="x")
    reused = ResultRecord(custom_id="d|e|treat|0.0|0|closed", status="ok", text="-5 apples",
                          prompt_tokens=5, completion_tokens=2, timings={"worker_cpu_ms": 3.5},
                          reused_from=ReusedFrom(run_id="r0", custom_id="d|e|x|0.0|0|closed"))
    return [*(prediction_row(r.custom_id, r) for r in (ok, failed, counted, reused)),
            prediction_row("d|f|treat|0.0|0|closed", None),
            prediction_row("d|g|treat|1.0|2|open", None, "skipped")]


def test_a_row_written_reads_back_equal(tmp_path):
    path = tmp_path / "predictions.csv"
    rows = _rows()
    write_predictions(path, rows)
    back = read_predictions(path)
    assert [r.line for r in back] == [2, 3, 5, 6, 7, 8]  # the failed row's error spans 2 lines
    assert [msgspec.structs.replace(r, line=0) for r in back] == rows
    ok, failed, counted, reused, pending, skipped = back
    assert (ok.response_text, ok.prompt_tokens, ok.total_tokens, ok.cpu_ms, ok.worker) == \
        ("=SUM(A1)", 12, 15, 0.0, 1)
    assert (failed.status, failed.prompt_tokens, failed.tokens_source, failed.error) == \
        ("failed", -1, "not_recorded", "boom\r\nline")
    assert (counted.prompt_tokens, counted.completion_tokens, counted.tokens_source) == \
        (17, 0, "tokenizer")
    assert reused.reused_from == "r0:d|e|x|0.0|0|closed" and reused.started_at == 0.0
    assert (pending.status, pending.prompt_tokens, pending.attempts, pending.cpu_ms) == \
        ("pending", -1, 0, None)
    assert (skipped.status, skipped.temp, skipped.sample_index) == ("skipped", 1.0, 2)


def test_the_columns_and_the_cells_are_the_files_they_always_were(tmp_path):
    """The header (the predecessor's 13 columns first) and the cells of a unit that never
    ran: only its own columns and its status; an unrecorded time is an empty cell."""
    path = tmp_path / "predictions.csv"
    write_predictions(path, _rows())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert COLUMNS[:13] == PREDECESSOR_COLUMNS and lines[0] == ",".join(COLUMNS)
    assert len(COLUMNS) == 23 and COLUMNS[13:] == [
        "latency_ms", "status", "error", "attempts", "worker", "tokens_source", "started_at",
        "ended_at", "cpu_ms", "reused_from"]
    assert lines[1] == ("d|a|control|0.0|0|closed,d,a,control,0.0,0,closed,r1,stop,'=SUM(A1),"
                        "12,3,15,45.25,ok,,1,1,engine,1700000000.125,1700000001.5,0.0,")
    assert lines[4] == ("d|d|treat|0.0|0|closed,d,d,treat,0.0,0,closed,,,,17,0,17,0.0,failed,"
                        "x,1,-1,tokenizer,,,,")
    assert lines[6] == "d|f|treat|0.0|0|closed,d,f,treat,0.0,0,closed,,,,,,,,pending,,,,,,,,"


def test_a_predecessor_file_reads_into_typed_rows(tmp_path):
    """No status column: finish_reason "error" is failed; no latency, worker, times: unknown;
    an empty token cell is -1, never 0."""
    path = tmp_path / "predictions.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(PREDECESSOR_COLUMNS)
        writer.writerow(["sq|1|control|0.0|0|open", "sq", "1", "control", "0.0", "0", "open",
                         "req-1", "stop", "Harrow", "90", "3", "93"])
        writer.writerow(["sq|2|control|0.0|0|open", "sq", "2", "control", "0.0", "0", "open",
                         "req-2", "error", "", "", "", ""])
    answered, failed = read_predictions(path)
    assert answered == PredictionRow(
        custom_id="sq|1|control|0.0|0|open", dataset="sq", item_id="1", condition="control",
        temp=0.0, sample_index=0, type="open", request_id="req-1", finish_reason="stop",
        response_text="Harrow", prompt_tokens=90, completion_tokens=3, total_tokens=93,
        status="ok", line=2)
    assert (failed.status, failed.prompt_tokens, failed.completion_tokens) == ("failed", -1, -1)
    assert (failed.latency_ms, failed.started_at, failed.cpu_ms, failed.attempts) == \
        (0.0, 0.0, None, 0)


def test_only_the_required_columns(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("custom_id,condition,response_text\nd|1|a|0.0|0|open,a,yes\n\n"
                    "d|1|b|0.0|0|open,b\n", encoding="utf-8")
    first, second = read_predictions(path)
    assert (first.status, first.response_text, first.prompt_tokens, first.temp) == \
        ("ok", "yes", -1, None)
    assert (second.response_text, second.line) == ("", 4)  # a short row: empty cells


@pytest.mark.parametrize("column, value, message", [
    ("prompt_tokens", "1e400", "line 3: prompt_tokens = 1e400 is not a usable number"),
    ("latency_ms", "inf", "line 3: latency_ms = inf is not a usable number"),
    ("status", "done", "line 3: status = done is not one of ok, failed, pending, skipped"),
])
def test_a_bad_cell_is_one_error_naming_file_line_and_column(tmp_path, column, value, message):
    path = tmp_path / "predictions.csv"
    write_predictions(path, _rows()[:1] * 2)
    with open(path, encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    table[2][table[0].index(column)] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(table)
    with pytest.raises(DataError, match=message) as got:
        read_predictions(path)
    assert str(path) in str(got.value) and "\n" not in str(got.value)
