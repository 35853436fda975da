"""per_item_scores.csv: score every prediction, then one row per item × condition × temp
(the score stage). Values are means over the item's samples, with their SD.

    predictions rows ──score_answer(text, item)──► per-sample scores ──group──► per-item rows

Failed units are not answers: they are left out of the means and counted in n_failed. An
item whose samples all failed has empty metrics and is left out of the paired statistics.
Empty answers and answers that echo the prompt are scored (0 on every metric, see
scoring.score_answer) and counted in n_empty and n_echo.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

from evalcli.errors import DataError
from evalcli.inputs.items import Item
from evalcli.science.refusals import echo_sources
from evalcli.science.scoring import score_answer
from evalcli.store.customid import parse_custom_id
from evalcli.store.fsutil import atomic_write_csv

METRICS = ("em", "f1", "abstain_rate", "false_answer_rate", "unsupported_rate")
COLUMNS = ["item_key", "dataset", "item_id", "type", "group", "answerable", "condition", "temp",
           "n_samples", "n_failed", "n_empty", "n_echo"]
COUNTS = ("n_samples", "n_failed", "n_empty", "n_echo")
for _metric in METRICS:
    COLUMNS += [_metric, f"{_metric}_sd"]
COLUMNS += ["prompt_tokens", "completion_tokens"]


def prompt_texts(prompts) -> dict[str, list[str]]:
    """{condition: [system prompt, open-book instructions, closed-book instructions]} of a
    PromptSet: what an answer must not echo (see refusals.is_echo)."""
    return {condition: [text, prompts.instructions.open, prompts.instructions.closed]
            for condition, text in prompts.system.items()}


def score_rows(predictions: Iterable[dict], items: dict[str, Item], scoring,
               extra_phrases: list[str] = (),
               echo_texts: dict[str, list[str]] | None = None) -> list[dict]:
    """Every row of iter_scored(...), as a list."""
    return list(iter_scored(predictions, items, scoring, extra_phrases, echo_texts))


# per (item, condition, temp): n, mean and sum of squared deviations (Welford) per metric
_TRACKED = (*METRICS, "prompt_tokens", "completion_tokens")
_SLOT = {metric: 3 * i for i, metric in enumerate(_TRACKED)}


def _add(acc: array, metric: str, x: float) -> None:
    k = _SLOT[metric]
    acc[k] += 1
    delta = x - acc[k + 1]
    acc[k + 1] += delta / acc[k]
    acc[k + 2] += delta * (x - acc[k + 1])


def iter_scored(predictions: Iterable[dict], items: dict[str, Item], scoring,
                extra_phrases: list[str] = (),
                echo_texts: dict[str, list[str]] | None = None) -> Iterator[dict]:
    """One per-item row per (item, condition, temperature), in order of first appearance.

    `predictions` is streamed; per group only counts and running means/variances are
    kept (a few hundred bytes, whatever the answers). `extra_phrases`: e.g. the prompt
    set's instructed abstention phrase, added to the built-in refusal patterns and
    `scoring.abstain_phrases`. `echo_texts`: per condition, the prompt texts an answer must
    not repeat (``prompt_texts``); None = no echo check."""
    phrases = tuple(p for p in [*scoring.abstain_phrases, *extra_phrases] if p.strip())
    sources = {cond: echo_sources(*texts) for cond, texts in (echo_texts or {}).items()}
    groups: dict[tuple, list] = {}  # key -> [item, n_failed, n_empty, n_echo, accumulators]
    for row in predictions:
        if row.get("status") == "skipped":  # a sequential run stopped before it: no item row
            continue
        cid = parse_custom_id(row["custom_id"])
        item = items.get(cid.item_key)
        if item is None:
            raise DataError(
                f"prediction {row['custom_id']}: item {cid.item_key} is not in the items file — "
                "pass the items the predictions were made on"
            )
        key = (cid.item_key, cid.condition, cid.temp)
        group = groups.get(key)
        if group is None:
            group = groups[key] = [item, 0, 0, 0, array("d", bytes(8 * 3 * len(_TRACKED)))]
        if row.get("status", "ok") != "ok":
            group[1] += 1
            continue
        score = score_answer(row.get("response_text") or "", item, abstain_phrases=phrases,
                             echo_sources=sources.get(cid.condition, ()),
                             unsupported_strategy=scoring.unsupported_strategy,
                             overlap_threshold=scoring.overlap_threshold)
        if score.outcome == "empty":
            group[2] += 1
        elif score.outcome == "echo":
            group[3] += 1
        acc = group[4]
        _add(acc, "em", score.em)
        _add(acc, "f1", score.f1)
        _add(acc, "abstain_rate", float(score.abstained))
        if score.false_answer is not None:
            _add(acc, "false_answer_rate", score.false_answer)
        if score.unsupported is not None:
            _add(acc, "unsupported_rate", score.unsupported)
        for metric in ("prompt_tokens", "completion_tokens"):  # -1 = the engine did not say
            count = float(-1 if row.get(metric) in (None, "") else row[metric])
            if count >= 0:
                _add(acc, metric, count)
    for (_, condition, temp), (item, n_failed, n_empty, n_echo, acc) in groups.items():
        out = {"item_key": item.key, "dataset": item.dataset, "item_id": item.item_id,
               "type": item.type, "group": item.group, "answerable": item.answerable,
               "condition": condition, "temp": temp, "n_samples": int(acc[_SLOT["em"]]),
               "n_failed": n_failed, "n_empty": n_empty, "n_echo": n_echo}
        for metric in _TRACKED:
            n, mean, m2 = acc[_SLOT[metric]:_SLOT[metric] + 3]
            out[metric] = mean if n else None
            if metric in METRICS:
                out[f"{metric}_sd"] = math.sqrt(m2 / (n - 1)) if n > 1 else (0.0 if n else None)
        yield out


def write_per_item(path: Path, rows: Iterable[dict]) -> None:
    atomic_write_csv(path, COLUMNS, ({k: ("" if v is None else v) for k, v in row.items()}
                                     for row in rows))


def read_per_item(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    numeric = set(METRICS) | {f"{m}_sd" for m in METRICS} | {"prompt_tokens", "completion_tokens"}
    for row in rows:
        for key in numeric:
            row[key] = float(row[key]) if row.get(key) not in (None, "") else None
        row["temp"] = float(row["temp"])
        for key in COUNTS:  # n_empty / n_echo: 0 in files written before they existed
            row[key] = int(row.get(key) or 0)
        row["answerable"] = row["answerable"] == "True"
    return rows
