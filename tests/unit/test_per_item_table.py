"""per_item_scores.csv read into columns (ItemTable): the same values as the rows written."""

from __future__ import annotations

import math
import re

import msgspec
import numpy as np
import pytest

from evalcli.errors import DataError
from evalcli.science.per_item import COLUMNS, ItemRow, ItemTable, read_per_item, write_per_item
from evalcli.store.predictions import PredictionRow


def _rows() -> list[ItemRow]:
    return [ItemRow(item_key=f"ds|q{i}", dataset="ds", item_id=f"q{i}",
                    type="open" if i % 2 else "closed", group=f"g{i // 3}" if i < 3 else "",
                    answerable=i != 4, condition=condition, temp=0.7, n_samples=2 - (i == 5),
                    n_failed=int(i == 5), n_empty=i % 2, n_echo=0, n_truncated=int(i == 3),
                    em=i / 7, em_sd=0.25, f1=1 / 3, abstain_rate=0.5 if i else 0.0,
                    prompt_tokens=100.5 + i, completion_tokens=4.0,
                    false_answer_rate=1.0 if i == 4 else None)  # unanswerable items only
            for i in range(6) for condition in ("control", "treatment")]


def test_read_gives_back_the_written_values(tmp_path):
    path = tmp_path / "per_item_scores.csv"
    rows = _rows()
    write_per_item(path, rows)
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    table = ItemTable.read(path)
    assert table.n == len(rows)
    assert read_per_item(path) == rows  # every value, typed (None stays None)
    assert math.isnan(table.num["false_answer_rate"][0]) and table.num["false_answer_rate"][8] == 1
    assert table.text["item_key"][0] is table.text["item_key"][1]  # repeated strings shared
    held = ItemTable.from_rows(rows)
    for name, column in table.num.items():
        assert np.array_equal(column, held.num[name], equal_nan=True), name
    assert table.answerable.tolist() == [r.answerable for r in rows]


def test_the_columns_and_their_order_are_the_files():
    """per_item_scores.csv's header, as every run directory has it (ItemRow's fields)."""
    assert COLUMNS == [
        "item_key", "dataset", "item_id", "type", "group", "answerable", "condition", "temp",
        "n_samples", "n_failed", "n_empty", "n_echo", "n_truncated", "em", "em_sd", "f1",
        "f1_sd", "abstain_rate", "abstain_rate_sd", "false_answer_rate",
        "false_answer_rate_sd", "unsupported_rate", "unsupported_rate_sd", "prompt_tokens",
        "completion_tokens"]


def test_a_file_without_a_required_column_or_with_a_bad_number_is_named(tmp_path):
    path = tmp_path / "per_item_scores.csv"
    path.write_text("item_key,dataset,type,condition\nd|a,d,open,c\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"{re.escape(str(path))}: no column 'temp'"):
        read_per_item(path)
    path.write_text("item_key,dataset,type,condition,temp,em\nd|a,d,open,c,0.0,high\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match="line 2: em = high is not a number"):
        ItemTable.read(path)


def test_a_file_from_before_the_newer_counts_reads_them_as_zero(tmp_path):
    path = tmp_path / "per_item_scores.csv"
    path.write_text("item_key,dataset,item_id,type,group,answerable,condition,temp,n_samples,"
                    "n_failed,em,em_sd\nd|a,d,a,open,,True,c,0.0,3,1,0.5,\n", encoding="utf-8")
    assert read_per_item(path) == [ItemRow(item_key="d|a", dataset="d", item_id="a",
                                           type="open", answerable=True, condition="c",
                                           temp=0.0, n_samples=3, n_failed=1, em=0.5)]


def test_grouped_scoring_holds_one_group_and_gives_the_same_rows():
    """The score stage's predictions come grouped (conditions × items × samples): scored with
    grouped=True each group is written out when the next begins — the same rows, in the same
    order, as holding every group; a group seen again is a second row, refused by stats."""
    from types import SimpleNamespace

    from evalcli.inputs.items import Item
    from evalcli.science.per_item import iter_scored
    from evalcli.science.stats.significance import build_significance

    items = {f"d|q{i}": Item(dataset="d", item_id=f"q{i}", type="closed",
                             question=f"Q{i}?", answers=[f"a{i}"]) for i in range(5)}
    scoring = SimpleNamespace(abstain_phrases=[], unsupported_strategy="baseline",
                              overlap_threshold=0.5)
    preds = [PredictionRow(custom_id=f"d|q{i}|{cond}|0.7|{s}|closed", status="ok",
                           response_text=f"a{i}" if (i + s) % 2 else "no", prompt_tokens=9,
                           completion_tokens=2)
             for cond in ("control", "treatment") for i in range(5) for s in range(3)]
    held = list(iter_scored(preds, items, scoring))
    gen = iter_scored(iter(preds), items, scoring, grouped=True)
    streamed, open_groups = [], []
    for row in gen:  # how many groups the scorer holds each time it gives a row
        streamed.append(row)
        open_groups.append(len(gen.gi_frame.f_locals["groups"]))
    assert streamed == held and len(held) == 10
    assert max(open_groups) == 1
    # rows of one group split apart: two rows for it, which the statistics refuse
    split = preds[:1] + preds[3:6] + preds[1:3] + preds[6:]
    twice = list(iter_scored(split, items, scoring, grouped=True))
    with pytest.raises(ValueError, match=re.escape("two score rows for item 'd|q0'")):
        build_significance(twice, control="control", seed=1, n_boot=10, n_perm=10)


def test_text_columns_are_codes_and_pairs_come_in_item_key_order():
    """A text column is int32 codes into its distinct values (no string per row); blocks()
    gives each (condition, temp, type)'s rows and pair() the rows of two blocks that share an
    item, in item_key order (the order the statistics resample in), unpaired items left out."""
    rows = []
    for condition, keys in (("control", ["d|b", "d|c", "d|a", "d|x"]),
                            ("treatment", ["d|a", "d|y", "d|c", "d|b"])):
        rows += [ItemRow(item_key=k, dataset="d", type="open", condition=condition, temp=0.0,
                         em=float(i)) for i, k in enumerate(keys)]
    table = ItemTable.from_rows(rows)
    key = table.text["item_key"]
    assert key.codes.dtype == "int32" and sorted(key.cats) == ["d|a", "d|b", "d|c", "d|x", "d|y"]
    assert (table.text["condition"] == "treatment").tolist() == [False] * 4 + [True] * 4
    assert not (table.text["condition"] == "absent").any()
    blocks = table.blocks()
    assert {k: v.tolist() for k, v in blocks.items()} == {
        ("control", 0.0, "open"): [0, 1, 2, 3], ("treatment", 0.0, "open"): [4, 5, 6, 7]}
    at_c, at_t = table.pair(blocks[("control", 0.0, "open")], blocks[("treatment", 0.0, "open")])
    assert key[at_c].tolist() == key[at_t].tolist() == ["d|a", "d|b", "d|c"]
    assert table.num["em"][at_c].tolist() == [2.0, 0.0, 1.0]
    assert table.num["em"][at_t].tolist() == [0.0, 3.0, 2.0]
    with pytest.raises(ValueError, match=r"two score rows for item 'd\|b', condition 'control'"):
        ItemTable.from_rows([*rows, msgspec.structs.replace(rows[0], em=9.0)]).blocks()


def test_item_id_is_read_as_the_file_says(tmp_path):
    rows = [ItemRow(item_key="sq|a|b", dataset="sq", item_id="a|b", type="open",
                    condition="c", temp=0.0),
            ItemRow(item_key="sq|x", dataset="sq", item_id="hand-edited", type="open",
                    condition="c", temp=0.0)]
    path = tmp_path / "per_item_scores.csv"
    write_per_item(path, rows)
    assert [r.item_id for r in read_per_item(path)] == ["a|b", "hand-edited"]
    assert "item_id" not in ItemTable.read(path).text  # nothing reads it from the columns


def test_a_stage_can_keep_only_the_numbers_it_reads(tmp_path):
    path = tmp_path / "per_item_scores.csv"
    rows = _rows()
    write_per_item(path, rows)
    table = ItemTable.read(path, ("em", "n_failed"))
    assert set(table.num) == {"em", "n_failed", "temp"}
    assert table.num["em"].tolist() == [r.em for r in rows]
    assert table.num["n_failed"].tolist() == [r.n_failed for r in rows]
    assert table.text["item_key"].tolist() == [r.item_key for r in rows]
