"""Datasets: turn `[[datasets]]` sources into canonical items (the prepare stage's input).

    [[datasets]] tables ──► DatasetSource ──check──► ConfigError (bad setting)
                                 │
                                 ▼  one loader per format
        sample ─ package data    squad2 ─ SQuAD JSON     triviaqa ─ TriviaQA JSON
        nq_open ─ NQ-Open JSONL  jsonl / csv ─ generic   hf ─ Hugging Face download
                                 │  (Item, where) pairs; DataError names file + line/record + field
                                 ▼
        unique keys ──► `limit` (seeded, stratified) ──► `--limit-items` per source ──► list[Item]

Public: `DatasetSource`, `load_sources`, `load_source`, `FORMATS`. Everything else is private.
"""

from __future__ import annotations

from pathlib import Path

from evalcli.inputs.datasets.hub import load_hf
from evalcli.inputs.datasets.nq_open import load_nq_open
from evalcli.inputs.datasets.records import Located, check_unique
from evalcli.inputs.datasets.sample import load_sample
from evalcli.inputs.datasets.sampling import sample
from evalcli.inputs.datasets.sources import FORMATS, DatasetSource
from evalcli.inputs.datasets.squad import load_squad
from evalcli.inputs.datasets.tabular import load_csv, load_jsonl
from evalcli.inputs.datasets.triviaqa import load_triviaqa
from evalcli.inputs.items import Item

__all__ = ["FORMATS", "DatasetSource", "load_source", "load_sources"]

_FILE_LOADERS = {
    "squad2": load_squad,
    "triviaqa": load_triviaqa,
    "nq_open": load_nq_open,
    "jsonl": load_jsonl,
    "csv": load_csv,
}


def _load_all(source: DatasetSource, base_dir: Path, index: int | None) -> list[Located]:
    """Every item of one source (no sampling), each with where it came from."""
    source.check(index)
    if source.format == "sample":
        return load_sample(source)
    if source.format == "hf":
        return load_hf(source, base_dir)
    loader = _FILE_LOADERS[source.format]
    return loader(source, source.resolved_path(base_dir), source.path)


def _cut(located: list[Located], source: DatasetSource, limit_items: int) -> list[Item]:
    located = sample(located, source.limit, source.seed)
    return [item for item, _ in sample(located, limit_items, source.seed)]


def load_source(source: DatasetSource, base_dir: Path, *, limit_items: int = 0) -> list[Item]:
    """One source's items, in file order, after its `limit` and then `limit_items`."""
    located = _load_all(source, Path(base_dir), None)
    check_unique(located)
    return _cut(located, source, limit_items)


def load_sources(
    sources: list[DatasetSource], base_dir: Path, *, limit_items: int = 0
) -> list[Item]:
    """Every source's items, sources in order and each in file order.

    Each source's `limit` (a seeded stratified sample, 0 = all) applies first, then
    `limit_items` (the CLI --limit-items; 0 = no cap) keeps at most that many per source with
    the same seed. A key (dataset|item_id) seen twice, within or across sources, is a
    DataError naming both places; it is checked before sampling, so whether a run fails does
    not depend on the seed. Bad settings raise ConfigError, bad data DataError.
    """
    loaded = [_load_all(source, Path(base_dir), i) for i, source in enumerate(sources)]
    check_unique([located for one in loaded for located in one])
    return [
        item
        for source, one in zip(sources, loaded, strict=True)
        for item in _cut(one, source, limit_items)
    ]
