"""The built-in sample set, shipped as package data (evalcli/inputs/data/sample/*.jsonl).

    type = "open"   -> open_book.jsonl     (passages, some questions unanswerable)
    type = "closed" -> closed_book.jsonl   (questions alone)
    type = ""       -> both, open-book first

Each file holds one `Item` JSON object per line; it is read with the generic JSONL reader, so
the sample set passes exactly the checks a user's file does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from evalcli.errors import DataError
from evalcli.inputs.datasets.records import Located
from evalcli.inputs.datasets.sources import DatasetSource
from evalcli.inputs.datasets.tabular import load_jsonl

FILES = {"open": "open_book.jsonl", "closed": "closed_book.jsonl"}


def sample_dir() -> Path:
    return Path(str(resources.files("evalcli.inputs") / "data" / "sample"))


def load_sample(source: DatasetSource) -> list[Located]:
    kinds = [source.type] if source.type else ["open", "closed"]
    out: list[Located] = []
    for kind in kinds:
        path = sample_dir() / FILES[kind]
        if not path.is_file():
            raise DataError(
                f"sample data {FILES[kind]} is missing from the installed evalcli "
                f"(looked in {path.parent}) — reinstall evalcli"
            )
        as_jsonl = DatasetSource(format="jsonl", name=source.dataset_name())
        for located in load_jsonl(as_jsonl, path, f"sample/{FILES[kind]}"):
            if located.item.type != kind:
                raise DataError(
                    f'{located.where}: a "{located.item.type}" item in the {kind}-book '
                    "sample file — reinstall evalcli"
                )
            out.append(located)
    return out
