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
import io
import statistics
from collections import defaultdict
from pathlib import Path

from evalcli.errors import DataError
from evalcli.inputs.items import Item
from evalcli.science.refusals import echo_sources
from evalcli.science.scoring import score_answer
from evalcli.store.customid import parse_custom_id
from evalcli.store.fsutil import atomic_write_text

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


def score_rows(predictions: list[dict], items: dict[str, Item], scoring,
               extra_phrases: list[str] = (),
               echo_texts: dict[str, list[str]] | None = None) -> list[dict]:
    """`extra_phrases`: e.g. the prompt set's instructed abstention phrase, added to the
    built-in refusal patterns and `scoring.abstain_phrases`. `echo_texts`: per condition, the
    prompt texts an answer must not repeat (``prompt_texts``); None = no echo check."""
    phrases = tuple(p for p in [*scoring.abstain_phrases, *extra_phrases] if p.strip())
    sources = {cond: echo_sources(*texts) for cond, texts in (echo_texts or {}).items()}
    groups: dict[tuple, dict] = {}
    samples: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
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
        group = groups.setdefault(key, {"item": item, "condition": cid.condition,
                                        "temp": cid.temp, "n_failed": 0, "n_empty": 0,
                                        "n_echo": 0})
        if row.get("status", "ok") != "ok":
            group["n_failed"] += 1
            continue
        score = score_answer(row.get("response_text") or "", item, abstain_phrases=phrases,
                             echo_sources=sources.get(cid.condition, ()),
                             unsupported_strategy=scoring.unsupported_strategy,
                             overlap_threshold=scoring.overlap_threshold)
        if score.outcome in ("empty", "echo"):
            group[f"n_{score.outcome}"] += 1
        values = samples[key]
        values["em"].append(score.em)
        values["f1"].append(score.f1)
        values["abstain_rate"].append(float(score.abstained))
        if score.false_answer is not None:
            values["false_answer_rate"].append(score.false_answer)
        if score.unsupported is not None:
            values["unsupported_rate"].append(score.unsupported)
        for key in ("prompt_tokens", "completion_tokens"):  # -1 = the engine did not say
            count = float(-1 if row.get(key) in (None, "") else row[key])
            if count >= 0:
                values[key].append(count)
    out = []
    for key, group in groups.items():
        item, values = group["item"], samples.get(key, {})
        row = {"item_key": item.key, "dataset": item.dataset, "item_id": item.item_id,
               "type": item.type, "group": item.group, "answerable": item.answerable,
               "condition": group["condition"], "temp": group["temp"],
               "n_samples": len(values.get("em", [])), "n_failed": group["n_failed"],
               "n_empty": group["n_empty"], "n_echo": group["n_echo"]}
        for metric in METRICS:
            series = values.get(metric, [])
            row[metric] = statistics.fmean(series) if series else None
            row[f"{metric}_sd"] = statistics.stdev(series) if len(series) > 1 else (0.0 if series else None)
        for metric in ("prompt_tokens", "completion_tokens"):
            series = values.get(metric, [])
            row[metric] = statistics.fmean(series) if series else None
        out.append(row)
    return out


def write_per_item(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    atomic_write_text(path, buffer.getvalue())


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
