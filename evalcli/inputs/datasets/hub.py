"""format = "hf": download one of the three known datasets through Hugging Face `datasets`.

    hf_name (last part)  hf_config (default)   split (default)   items
    squad_v2             -                     validation        open-book, as format squad2
    trivia_qa            rc.nocontext          validation        closed-book, as format triviaqa
    nq_open              -                     validation        closed-book, as format nq_open

`datasets` is optional and imported only here, when such a source is loaded; it caches what
it downloads (in `cache_dir` when set, else its own default), so later runs work offline
with HF_DATASETS_OFFLINE=1. Rows go through the same item rules as the official files;
SQuAD rows are grouped by "<title>#<n>", n counting the distinct passages of each title.
TriviaQA rc.* splits list many questions twice (web and Wikipedia evidence): each is one item.
Any other dataset: export it to JSONL or CSV and use format "jsonl" / "csv".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalcli.errors import ConfigError, DataError
from evalcli.inputs.datasets.nq_open import nq_items
from evalcli.inputs.datasets.records import Located, make_item
from evalcli.inputs.datasets.sources import DatasetSource, hf_entry
from evalcli.inputs.datasets.triviaqa import trivia_items


def _squad(rows: Iterable[dict[str, Any]], dataset: str, label: str) -> list[Located]:
    passages: dict[str, dict[str, int]] = {}  # title -> context -> paragraph ordinal
    out = []
    for i, row in enumerate(rows):
        title = row.get("title") or "untitled"
        ordinals = passages.setdefault(title, {})
        paragraph = ordinals.setdefault(row["context"], len(ordinals))
        answers = list((row.get("answers") or {}).get("text") or [])
        out.append(
            make_item(
                where=f"{label} row {i} (id {row['id']})",
                dataset=dataset,
                item_id=str(row["id"]),
                type="open",
                question=row["question"],
                answers=answers,
                passage=row["context"],
                answerable=bool(answers),
                group=f"{title}#{paragraph}",
            )
        )
    return out


def _triviaqa(rows: Iterable[dict[str, Any]], dataset: str, label: str) -> list[Located]:
    records = []
    for i, row in enumerate(rows):
        answer = row.get("answer") or {}
        qid = str(row["question_id"])
        answers = [answer.get("value") or "", *(answer.get("aliases") or [])]
        records.append((f"{label} row {i} (question_id {qid})", qid, row["question"], answers))
    return trivia_items(records, dataset)


def _nq_open(rows: Iterable[dict[str, Any]], dataset: str, label: str) -> list[Located]:
    records = [
        (f"{label} row {i}", row["question"], list(row["answer"])) for i, row in enumerate(rows)
    ]
    return nq_items(records, dataset)


CONVERT = {"squad": _squad, "triviaqa": _triviaqa, "nq_open": _nq_open}


def load_hf(source: DatasetSource, base_dir: Path) -> list[Located]:
    source.check()  # hf_name is one of HF_KNOWN from here on
    kind, default_config, _ = hf_entry(source.hf_name) or ("", "", "")
    config = source.hf_config or default_config
    split = source.split or "validation"
    try:
        import datasets  # optional, and heavy: imported only when an hf source is loaded
    except ImportError:
        raise ConfigError(
            'format "hf" needs the Hugging Face datasets package — pip install datasets '
            '(or download the official file and use format "squad2", "triviaqa" or "nq_open")'
        ) from None
    cache_dir = None
    if source.cache_dir:
        cache = Path(source.cache_dir).expanduser()
        cache_dir = str(cache if cache.is_absolute() else Path(base_dir) / cache)
    label = f"hf:{source.hf_name}" + (f"/{config}" if config else "") + f":{split}"
    try:
        rows = datasets.load_dataset(
            source.hf_name, config or None, split=split, cache_dir=cache_dir
        )
    except Exception as exc:  # network, unknown split, auth...: the library's types vary
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"{label}: could not load from Hugging Face ({reason}) — check hf_name, hf_config and "
            "split, and the network; downloaded data is cached (HF_DATASETS_OFFLINE=1 uses only the cache)"
        ) from None
    try:
        return CONVERT[kind](rows, source.dataset_name(), label)
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{label}: rows do not have the expected fields ({exc!r}) — "
            "this hf_name/hf_config is not the layout evalcli maps"
        ) from None
