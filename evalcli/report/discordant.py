"""What the report needs of the per-item rows and the predictions, read without holding rows.

    per-item rows (ItemTable) ──discordant──► per (treatment, temp, type): the items where
        exactly one arm is right (EM ≥ threshold, as McNemar's b and c)
    predictions (streamed once) ──read_units──► the answer texts of the items the report
        shows, and the failed units (the first FAILED_SHOWN of them, and how many)

The report shows at most a few dozen items and failures, so that is all that is kept: memory
stays flat however many units a run has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from evalcli.science.per_item import ItemRow, ItemTable, as_table
from evalcli.store.customid import parse_custom_id
from evalcli.store.predictions import PredictionRow

FAILED_SHOWN = 50
UnitKey = tuple[str, str, float]  # item_key, condition, temp


def discordant(rows: ItemTable | Iterable[ItemRow], control: str,
               threshold: float = 0.5) -> list[dict[str, Any]]:
    """Per (treatment, temp, type), in sorted order: items where exactly one arm is right.
    Each of `control_right` / `treatment_right` lists (item_key, control EM, treatment EM)
    by item_key."""
    table = as_table(rows)
    em, keys = table.num["em"], table.text["item_key"]
    index = table.blocks()
    blocks = []
    for (cond, temp, kind), trt_rows in sorted(index.items()):
        ctl_rows = index.get((control, temp, kind))
        if cond == control or ctl_rows is None:
            continue
        block: dict[str, Any] = {"treatment": cond, "temp": temp, "type": kind, "control_right": [],
                 "treatment_right": []}
        at_c, at_t = table.pair(ctl_rows, trt_rows)
        ok = ~(np.isnan(em[at_c]) | np.isnan(em[at_t]))
        paired = bool(ok.any())
        for c, t in zip(at_c[ok].tolist(), at_t[ok].tolist(), strict=True):
            c_ok, t_ok = em[c] >= threshold, em[t] >= threshold
            if c_ok and not t_ok:
                block["control_right"].append((keys[c], float(em[c]), float(em[t])))
            elif t_ok and not c_ok:
                block["treatment_right"].append((keys[c], float(em[c]), float(em[t])))
        if paired:
            blocks.append(block)
    return blocks


def read_units(predictions: Iterable[PredictionRow], wanted: set[UnitKey]
               ) -> tuple[dict[UnitKey, list[str]], list[PredictionRow], int]:
    """One pass over a trial's predictions rows: ({(item_key, condition, temp): answer texts
    of the answered samples, in sample order} for the keys in `wanted`, the first
    FAILED_SHOWN failed rows, the number of failed rows). Skipped and pending units are
    neither."""
    answers: dict[UnitKey, list[tuple[int, str]]] = defaultdict(list)
    failed: list[PredictionRow] = []
    n_failed = 0
    for row in predictions:
        if row.status == "ok":
            if wanted:
                cid = parse_custom_id(row.custom_id)
                key = (cid.item_key, cid.condition, cid.temp)
                if key in wanted:
                    answers[key].append((cid.sample_index, row.response_text))
        elif row.status != "skipped":
            n_failed += 1
            if len(failed) < FAILED_SHOWN:
                failed.append(row)
    return {k: [text for _, text in sorted(v)] for k, v in answers.items()}, failed, n_failed
