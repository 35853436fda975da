"""Spreadsheet-safe CSVs (issue 26): ids and answers that would start a formula in Excel /
LibreOffice ("=", "+", "-", "@", tab, CR) get a leading "'" in predictions.csv and
per_item_scores.csv, while plain numbers ("-1.5", "+1") stay numbers; results.jsonl keeps
the exact text, and evalcli's own readers (the score and stats stages, analyze) read every
cell back as it was."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from evalcli.science.per_item import read_per_item
from evalcli.store.fsutil import atomic_write_csv, spreadsheet_cell, spreadsheet_text
from evalcli.store.predictions import read_predictions
from tests.helpers import evalcli, trial_dirs, write_profile

IDS = ['=HYPERLINK("x")', "+1", "@foo", "-a", "'=q", "-1.5", "plain"]
FORMULA = {'=HYPERLINK("x")', "@foo", "-a", "'=q"}


@pytest.mark.parametrize("value, cell", [
    ('=HYPERLINK("x")', '\'=HYPERLINK("x")'), ("@foo", "'@foo"), ("-a", "'-a"),
    ("+a", "'+a"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("'=q", "''=q"), ("'abc", "'abc"),
    ("-1.5", "-1.5"), ("+1", "+1"), ("-2e-3", "-2e-3"), ("", ""), (-1, -1), (2.5, 2.5),
])
def test_a_cell_is_neutralised_and_read_back(tmp_path, value, cell):
    assert spreadsheet_cell(value) == cell
    path = tmp_path / "t.csv"
    atomic_write_csv(path, ["v"], [{"v": value}])
    with open(path, encoding="utf-8", newline="") as fh:
        [raw] = list(csv.DictReader(fh))
    assert raw["v"] == str(cell) and spreadsheet_text(raw["v"]) == str(value)


def test_a_run_with_formula_ids_round_trips(tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"item_id": i, "question": f"q {n}?",
                                        "answers": [f"a{n}"]}) + "\n"
                            for n, i in enumerate(IDS)), encoding="utf-8")
    profile = write_profile(tmp_path / "p.toml", workers=1,
                            datasets=[{"format": "jsonl", "path": str(data), "name": "d"}])
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "c")
    assert result.returncode == 0, result.stdout + result.stderr
    [trial] = trial_dirs(runs / "c")
    # results.jsonl: exact
    results = [json.loads(line) for line in (trial / "results.jsonl").read_text().splitlines()]
    assert {r["custom_id"].split("|")[1] for r in results} == set(IDS)
    # the CSVs as a spreadsheet sees them: no cell starts a formula, numbers stay numbers
    for name in ("predictions.csv", "per_item_scores.csv"):
        text = (trial / name).read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        cells = {v for r in rows for v in r.values()}
        number = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
        assert not [c for c in cells if c and c[0] in "=+-@\t\r" and not number.fullmatch(c)]
        ids = {r["item_id"] for r in rows}
        assert ids == {f"'{i}" if i in FORMULA else i for i in IDS}, (name, ids)
    # evalcli's readers get the values back: predictions, and the per-item table the stats
    # stage read (its item ids are in significance.json / report via analyze below)
    assert {r.item_id for r in read_predictions(trial / "predictions.csv")} == set(IDS)
    from evalcli.science.per_item import ItemTable

    table = ItemTable.read(trial / "per_item_scores.csv")
    assert set(table.text["item_key"].tolist()) == {f"d|{i}" for i in IDS}
    out = tmp_path / "analyzed"
    analyzed = evalcli("analyze", trial / "predictions.csv", "--items", runs / "c" /
                       "items.jsonl", "--out", out)
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    assert {r.item_id for r in read_per_item(out / "per_item_scores.csv")} == set(IDS)
    assert (out / "per_item_scores.csv").read_bytes() == (trial / "per_item_scores.csv") \
        .read_bytes()
