"""per_item_scores.csv: score every prediction, then one row per item × condition × temp
(the score stage). Values are means over the item's samples, with their SD.

    predictions rows ──score_answer(text, item)──► per-sample scores ──group──► per-item rows

Failed units are not answers: they are left out of the means and counted in n_failed. An
item whose samples all failed has empty metrics and is left out of the paired statistics.
Empty answers and answers that echo the prompt are scored (0 on every metric, see
scoring.score_answer) and counted in n_empty and n_echo.

A row is an `ItemRow` (attributes, never string keys) wherever it goes; `ItemTable` holds
many as columns. Only this module knows the file's cells:

    ItemRow ──write_per_item──► per_item_scores.csv ──iter_per_item──► ItemRow
                                                    └─ItemTable.read──► columns
"""

from __future__ import annotations

import csv
import itertools
import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import numpy as np

from evalcli.errors import DataError
from evalcli.inputs.items import Item
from evalcli.science.refusals import echo_sources
from evalcli.science.review import AnswerReview
from evalcli.science.scoring import score_answer
from evalcli.store.customid import parse_custom_id
from evalcli.store.fsutil import atomic_write_csv, spreadsheet_text
from evalcli.store.predictions import PredictionRow

if TYPE_CHECKING:
    from evalcli.inputs.config import ScoringConfig
    from evalcli.inputs.prompts import PromptSet

Metric = Literal["em", "f1", "abstain_rate", "false_answer_rate", "unsupported_rate"]
METRICS: tuple[Metric, ...] = ("em", "f1", "abstain_rate", "false_answer_rate",
                               "unsupported_rate")
# n_truncated: answers the engine cut at max_tokens (finish_reason "length"); they are scored
# like any answer, and the report flags an arm where they are frequent
COUNTS = ("n_samples", "n_failed", "n_empty", "n_echo", "n_truncated")


class ItemRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of per_item_scores.csv (fields in column order): an item × condition × temp.
    A metric is the mean over the item's answered samples and `<metric>_sd` their SD; None
    where no sample gave one (all failed; false_answer_rate of an answerable item, ...). The
    token columns are mean counts over the samples whose counts are known."""

    item_key: str
    dataset: str
    item_id: str = ""
    type: str
    group: str = ""
    answerable: bool = False
    condition: str
    temp: float
    n_samples: int = 0
    n_failed: int = 0
    n_empty: int = 0
    n_echo: int = 0
    n_truncated: int = 0
    em: float | None = None
    em_sd: float | None = None
    f1: float | None = None
    f1_sd: float | None = None
    abstain_rate: float | None = None
    abstain_rate_sd: float | None = None
    false_answer_rate: float | None = None
    false_answer_rate_sd: float | None = None
    unsupported_rate: float | None = None
    unsupported_rate_sd: float | None = None
    prompt_tokens: float | None = None
    completion_tokens: float | None = None

    def metric(self, name: str) -> float | None:
        """The mean of metric `name` (one of METRICS, chosen by configuration or a flag)."""
        if name not in METRICS:
            raise ValueError(f"{name!r} is not a per-item metric ({', '.join(METRICS)})")
        value: float | None = getattr(self, name)
        return value


COLUMNS = list(ItemRow.__struct_fields__)


def prompt_texts(prompts: PromptSet) -> dict[str, list[str]]:
    """{condition: [system prompt, open-book instructions, closed-book instructions]} of a
    PromptSet: what an answer must not echo (see refusals.is_echo)."""
    return {condition: [text, prompts.instructions.open, prompts.instructions.closed]
            for condition, text in prompts.system.items()}


def score_rows(predictions: Iterable[PredictionRow], items: Mapping[str, Item],
               scoring: ScoringConfig, extra_phrases: Sequence[str] = (),
               echo_texts: dict[str, list[str]] | None = None,
               review: AnswerReview | None = None) -> list[ItemRow]:
    """Every row of iter_scored(...), as a list."""
    return list(iter_scored(predictions, items, scoring, extra_phrases, echo_texts,
                            review=review))


# per (item, condition, temp): n, mean and sum of squared deviations (Welford) per metric
_TRACKED = (*METRICS, "prompt_tokens", "completion_tokens")
_SLOT = {metric: 3 * i for i, metric in enumerate(_TRACKED)}
_Key = tuple[str, str, float]  # item_key, condition, temp


def _add(acc: array[float], metric: str, x: float) -> None:
    k = _SLOT[metric]
    acc[k] += 1
    delta = x - acc[k + 1]
    acc[k + 1] += delta / acc[k]
    acc[k + 2] += delta * (x - acc[k + 1])


def iter_scored(predictions: Iterable[PredictionRow], items: Mapping[str, Item],
                scoring: ScoringConfig, extra_phrases: Sequence[str] = (),
                echo_texts: dict[str, list[str]] | None = None,
                grouped: bool = False, review: AnswerReview | None = None
                ) -> Iterator[ItemRow]:
    """One per-item row per (item, condition, temperature), in order of first appearance.

    `predictions` is streamed; per group only counts and running means/variances are
    kept (a few hundred bytes, whatever the answers). `grouped`: the caller knows each
    group's rows are consecutive (a predictions.csv the parse stage wrote: conditions ×
    items × samples), so a group is written out as soon as the next begins and only one is
    held; a group seen again later would be a second row for it, which the stats stage
    refuses. `extra_phrases`: e.g. the prompt
    set's instructed abstention phrase, added to the built-in refusal patterns and
    `scoring.abstain_phrases`. `echo_texts`: per condition, the prompt texts an answer must
    not repeat (``prompt_texts``); None = no echo check. `review`: collects the answers to
    unanswerable items that were classed as answers (science/review.py)."""
    phrases = tuple(p for p in [*scoring.abstain_phrases, *extra_phrases] if p.strip())
    sources = {cond: echo_sources(*texts) for cond, texts in (echo_texts or {}).items()}
    # key -> [item, n_failed, n_empty, n_echo, n_truncated, accumulators]
    groups: dict[_Key, list[Any]] = {}
    for row in predictions:
        if row.status == "skipped":  # a sequential run stopped before it: no item row
            continue
        cid = parse_custom_id(row.custom_id)
        item = items.get(cid.item_key)
        if item is None:
            raise DataError(
                f"prediction {row.custom_id}: item {cid.item_key} is not in the items file — "
                "pass the items the predictions were made on"
            )
        key = (cid.item_key, cid.condition, cid.temp)
        group = groups.get(key)
        if group is None:
            if grouped and groups:  # the group before is complete
                yield _per_item_row(*groups.popitem())
            group = groups[key] = [item, 0, 0, 0, 0, array("d", bytes(8 * 3 * len(_TRACKED)))]
        if row.status != "ok":
            group[1] += 1
            continue
        score = score_answer(row.response_text, item, abstain_phrases=phrases,
                             echo_sources=sources.get(cid.condition, ()),
                             unsupported_strategy=scoring.unsupported_strategy,
                             overlap_threshold=scoring.overlap_threshold)
        if score.outcome == "empty":
            group[2] += 1
        elif score.outcome == "echo":
            group[3] += 1
        elif review is not None and score.outcome == "answer" and not item.answerable:
            review.add(cid.condition, row.response_text)
        if row.finish_reason == "length":
            group[4] += 1
        acc = group[5]
        _add(acc, "em", score.em)
        _add(acc, "f1", score.f1)
        _add(acc, "abstain_rate", float(score.abstained))
        if score.false_answer is not None:
            _add(acc, "false_answer_rate", score.false_answer)
        if score.unsupported is not None:
            _add(acc, "unsupported_rate", score.unsupported)
        if row.prompt_tokens >= 0:  # -1 = the engine did not say
            _add(acc, "prompt_tokens", float(row.prompt_tokens))
        if row.completion_tokens >= 0:
            _add(acc, "completion_tokens", float(row.completion_tokens))
    for key, group in groups.items():
        yield _per_item_row(key, group)


def _per_item_row(key: _Key, group: list[Any]) -> ItemRow:
    (_, condition, temp), (item, n_failed, n_empty, n_echo, n_truncated, acc) = key, group

    def mean(metric: str) -> float | None:
        n, value = acc[_SLOT[metric]:_SLOT[metric] + 2]
        return value if n else None

    def sd(metric: str) -> float | None:
        n, _, m2 = acc[_SLOT[metric]:_SLOT[metric] + 3]
        return math.sqrt(m2 / (n - 1)) if n > 1 else (0.0 if n else None)

    return ItemRow(
        item_key=item.key, dataset=item.dataset, item_id=item.item_id, type=item.type,
        group=item.group, answerable=item.answerable, condition=condition, temp=temp,
        n_samples=int(acc[_SLOT["em"]]), n_failed=n_failed, n_empty=n_empty, n_echo=n_echo,
        n_truncated=n_truncated, em=mean("em"), em_sd=sd("em"), f1=mean("f1"), f1_sd=sd("f1"),
        abstain_rate=mean("abstain_rate"), abstain_rate_sd=sd("abstain_rate"),
        false_answer_rate=mean("false_answer_rate"),
        false_answer_rate_sd=sd("false_answer_rate"),
        unsupported_rate=mean("unsupported_rate"), unsupported_rate_sd=sd("unsupported_rate"),
        prompt_tokens=mean("prompt_tokens"), completion_tokens=mean("completion_tokens"))


def write_per_item(path: Path, rows: Iterable[ItemRow]) -> None:
    """Stream `rows` into per_item_scores.csv (COLUMNS; None is an empty cell), atomically."""
    atomic_write_csv(path, COLUMNS, ({k: ("" if v is None else v) for k, v in
                                      zip(COLUMNS, msgspec.structs.astuple(row), strict=True)}
                                     for row in rows))


_TEXT = ("item_key", "dataset", "type", "group", "condition")  # item_id: not kept
_AT = {name: i for i, name in enumerate(COLUMNS)}  # a field's place in ItemRow
_FLOATS = (*METRICS, *(f"{m}_sd" for m in METRICS), "prompt_tokens", "completion_tokens")
REQUIRED = ("item_key", "dataset", "type", "condition", "temp")


def read_per_item(path: Path) -> list[ItemRow]:
    """Every row of per_item_scores.csv (ItemTable.read is the compact form)."""
    return list(iter_per_item(path))


def iter_per_item(path: Path) -> Iterator[ItemRow]:
    """per_item_scores.csv's rows, streamed. A missing column of REQUIRED, or a cell that
    is not a number where one belongs, is a DataError naming the file (and line and column);
    a count column missing (n_empty, n_echo, n_truncated: files from before them) is 0."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise DataError(f"{path}: no column {missing[0]!r} — a per-item scores file needs "
                            f"the columns {', '.join(REQUIRED)} (header has: "
                            f"{', '.join(header) or 'nothing'})")
        at = [(name, header.index(name)) for name in COLUMNS if name in header]
        width = len(header)
        line = reader.line_num + 1
        for cells in reader:
            if cells:  # a blank line is no row
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                yield _item_row({name: cells[i] for name, i in at}, path, line)
            line = reader.line_num + 1


def _item_row(cells: dict[str, str], path: Path, line: int) -> ItemRow:
    def text(name: str) -> str:
        return spreadsheet_text(cells.get(name, ""))

    def number(name: str) -> float | None:
        cell = cells.get(name, "")
        try:
            return float(cell) if cell else None
        except ValueError:
            raise DataError(f"{path} line {line}: {name} = {cell[:40]} is not a number — "
                            "run the score stage again (evalcli resume RUN --from score)"
                            ) from None

    def count(name: str) -> int:
        value = number(name)
        return 0 if value is None else int(value)

    temp = number("temp")
    if temp is None:
        raise DataError(f"{path} line {line}: temp is empty — run the score stage again "
                        "(evalcli resume RUN --from score)")
    return ItemRow(
        item_key=text("item_key"), dataset=text("dataset"), item_id=text("item_id"),
        type=text("type"), group=text("group"), answerable=cells.get("answerable") == "True",
        condition=text("condition"), temp=temp,
        n_samples=count("n_samples"), n_failed=count("n_failed"), n_empty=count("n_empty"),
        n_echo=count("n_echo"), n_truncated=count("n_truncated"),
        em=number("em"), em_sd=number("em_sd"), f1=number("f1"), f1_sd=number("f1_sd"),
        abstain_rate=number("abstain_rate"), abstain_rate_sd=number("abstain_rate_sd"),
        false_answer_rate=number("false_answer_rate"),
        false_answer_rate_sd=number("false_answer_rate_sd"),
        unsupported_rate=number("unsupported_rate"),
        unsupported_rate_sd=number("unsupported_rate_sd"),
        prompt_tokens=number("prompt_tokens"), completion_tokens=number("completion_tokens"))


class Categorical:
    """A text column as int32 codes into its distinct values (`cats`, first-seen order): 4
    bytes per row and each distinct string once. Indexed like the object array it stands
    for: `col[i]` is a str, `col[rows]` an object array, `col == "x"` a bool array."""

    __slots__ = ("codes", "cats", "_rank")

    def __init__(self, codes: np.ndarray, cats: list[str]) -> None:
        self.codes, self.cats = codes, cats
        self._rank: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Any:  # a str, or an object array of them
        if isinstance(index, (int, np.integer)):
            return self.cats[self.codes[index]]
        return np.array(self.cats, dtype=object)[self.codes[index]]

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        code = self.cats.index(other) if other in self.cats else -1
        equal: np.ndarray = self.codes == code
        return equal

    __hash__ = None  # type: ignore[assignment]

    def tolist(self) -> list[str]:
        cats = self.cats
        return [cats[c] for c in self.codes.tolist()]

    def rank(self) -> np.ndarray:
        """Each row's place among the distinct values sorted as strings (equal values, equal
        rank): sorting rows by it sorts them by their text."""
        if self._rank is None:
            order = np.argsort(np.array(self.cats, dtype=object), kind="stable")
            by_code = np.empty(len(self.cats), dtype=np.int64)
            by_code[order] = np.arange(len(self.cats))
            self._rank = by_code[self.codes] if len(self.codes) else np.zeros(0, np.int64)
        return self._rank


class ItemTable:
    """Per-item score rows as columns: a few bytes per row, not a dict or a string per row.

    `text[name]`: Categorical columns (item_key, dataset, type, group, condition; no
    item_id: nothing reads it from a table);
    `num[name]`: float64 arrays — the metrics, their SDs and the token means with NaN for
    "none", and `temp` — and int32 arrays of the counts (n_samples, …); `answerable`: a bool
    array. Row i is the file's i-th data row."""

    def __init__(self, text: dict[str, Categorical], num: dict[str, np.ndarray],
                 answerable: np.ndarray) -> None:
        self.text, self.num, self.answerable = text, num, answerable
        self.n = len(answerable)

    @classmethod
    def read(cls, path: Path, numbers: Iterable[str] | None = None) -> ItemTable:
        """per_item_scores.csv, streamed into columns (see from_rows for `numbers`)."""
        return cls.from_rows(iter_per_item(path), numbers)

    @classmethod
    def from_rows(cls, rows: Iterable[ItemRow], numbers: Iterable[str] | None = None
                  ) -> ItemTable:
        """Columns from rows (iter_per_item's, or score_rows'). `numbers`: the metric, SD,
        token and count columns to keep (`temp` always; None = all) — a stage that needs a
        few does not hold the rest (row() needs all)."""
        keep = set(numbers) | {"temp"} if numbers is not None else None
        codes = {k: array("i") for k in _TEXT}
        seen: dict[str, dict[str, int]] = {k: {} for k in _TEXT}
        num: dict[str, array[Any]] = {k: array("d") for k in (*_FLOATS, "temp")}
        num |= {k: array("i") for k in COUNTS}
        if keep is not None:
            num = {k: v for k, v in num.items() if k in keep}
        floats = [k for k in _FLOATS if k in num]
        counts = [k for k in COUNTS if k in num]
        answerable = array("b")
        text_at = [(key, _AT[key]) for key in _TEXT]
        float_at = [(num[key], _AT[key]) for key in floats]
        count_at = [(num[key], _AT[key]) for key in counts]
        temps = num["temp"]
        for row in rows:
            values = msgspec.structs.astuple(row)
            for key, i in text_at:
                known = seen[key]
                codes[key].append(known.setdefault(values[i], len(known)))
            for column, i in float_at:
                value = values[i]
                column.append(math.nan if value is None else value)
            temps.append(row.temp)
            for column, i in count_at:
                column.append(values[i])
            answerable.append(row.answerable)
        return cls({k: Categorical(np.frombuffer(codes[k], dtype=np.int32)
                                   if len(codes[k]) else np.zeros(0, np.int32), list(seen[k]))
                    for k in _TEXT},
                   {k: np.frombuffer(v, dtype=np.float64 if v.typecode == "d" else np.int32)
                    if len(v) else np.zeros(0) for k, v in num.items()},
                   np.frombuffer(answerable, dtype=np.int8).astype(bool))

    def blocks(self) -> dict[tuple[str, float, str], np.ndarray]:
        """{(condition, temp, type): its row numbers, in file order}; two rows for one item
        in a block are a ValueError naming the first repeat."""
        cond, typ, temp = self.text["condition"], self.text["type"], self.num["temp"]
        out = {}
        for c, t, k in itertools.product(range(len(cond.cats)), np.unique(temp).tolist(),
                                         range(len(typ.cats))):
            rows = np.flatnonzero((cond.codes == c) & (temp == t) & (typ.codes == k))
            if not rows.size:
                continue
            _, first = np.unique(self.text["item_key"].rank()[rows], return_index=True)
            if first.size < rows.size:
                again = int(rows[np.setdiff1d(np.arange(rows.size), first)[0]])
                raise ValueError(
                    f"two score rows for item {self.text['item_key'][again]!r}, condition "
                    f"{cond.cats[c]!r}, temp {t}, type {typ.cats[k]!r}: rows must be one per "
                    "item × condition × temp")
            out[(cond.cats[c], t, typ.cats[k])] = rows
        return out

    def pair(self, control: np.ndarray, treatment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of `control` and of `treatment` (two blocks) that share an item, pair by
        pair in item_key order."""
        rank = self.text["item_key"].rank()
        _, at_c, at_t = np.intersect1d(rank[control], rank[treatment], assume_unique=True,
                                       return_indices=True)
        return control[at_c], treatment[at_t]


def as_table(rows: ItemTable | Iterable[ItemRow]) -> ItemTable:
    return rows if isinstance(rows, ItemTable) else ItemTable.from_rows(rows)
