"""`DatasetSource`: one `[[datasets]]` table of a profile, and its checks.

    [[datasets]]                       DatasetSource(format="csv", path="data/dev.csv",
    format = "csv"             ──►                   columns={"answers": "gold"}, ...)
    path = "data/dev.csv"                     │
    columns = { answers = "gold" }            ▼  check(index)  -> ConfigError on a bad setting
                                         resolved_path(base_dir), dataset_name()

The struct is decoded straight from TOML (unknown keys are errors, see `ConfigStruct`);
`check` catches what types alone cannot (unknown format, a key that does not apply to the
format, a bad column name) with a message that names the table and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from engines.base import MAX_SEED, ConfigStruct, IntRange
from evalcli.errors import ConfigError

FORMATS = ("sample", "squad2", "triviaqa", "nq_open", "jsonl", "csv", "hf")
FILE_FORMATS = ("squad2", "triviaqa", "nq_open", "jsonl", "csv")
TABULAR_FORMATS = ("jsonl", "csv")
# canonical fields a jsonl/csv column mapping may name
COLUMN_FIELDS = ("item_id", "question", "answers", "passage", "answerable", "group", "type")
DEFAULT_NAMES = {
    "sample": "sample",
    "squad2": "squad_v2",
    "triviaqa": "triviaqa",
    "nq_open": "nq_open",
}
ITEM_TYPES = ("open", "closed")
# format "hf": last part of hf_name -> (item kind, default config, default dataset name)
HF_KNOWN = {
    "squad_v2": ("squad", "", "squad_v2"),
    "trivia_qa": ("triviaqa", "rc.nocontext", "triviaqa"),
    "nq_open": ("nq_open", "", "nq_open"),
}


def hf_entry(hf_name: str) -> tuple[str, str, str] | None:
    """The HF_KNOWN entry for "nq_open" or "google-research-datasets/nq_open"; None if unknown."""
    return HF_KNOWN.get(hf_name.rstrip("/").rsplit("/", 1)[-1].lower())


class DatasetSource(ConfigStruct):
    """Where one dataset comes from and how much of it to use (see docs/datasets.md)."""

    format: Literal["sample", "squad2", "triviaqa", "nq_open", "jsonl", "csv", "hf"]
    path: str = ""
    name: str = ""
    type: Literal["", "open", "closed"] = ""
    limit: IntRange(0) = 0  # 0 = all
    seed: IntRange(0, MAX_SEED) = 0
    columns: dict[str, str] = {}
    answers_sep: str = "|"
    # format = "hf" only
    hf_name: str = ""
    hf_config: str = ""
    split: str = ""
    cache_dir: str = ""

    def where(self, index: int | None = None) -> str:
        """How messages name this table: `[[datasets]] #2 (format "csv")`."""
        number = "" if index is None else f" #{index + 1}"
        return f'[[datasets]]{number} (format "{self.format}")'

    def check(self, index: int | None = None) -> None:
        """Raise ConfigError for a setting that cannot work; say which key and the fix."""
        at = self.where(index)
        fmt = self.format
        if fmt in FILE_FORMATS and not self.path.strip():
            raise ConfigError(
                f'{at}: `path` is required — set path = "<file>" (relative paths '
                "are resolved against the profile's folder)"
            )
        if fmt in ("sample", "hf") and self.path:
            raise ConfigError(f'{at}: `path` does not apply to format "{fmt}" — remove it')
        if self.type and fmt not in ("sample", *TABULAR_FORMATS):
            raise ConfigError(
                f"{at}: `type` applies only to formats sample, jsonl and csv "
                f'(format "{fmt}" fixes the type) — remove it'
            )
        if self.columns and fmt not in TABULAR_FORMATS:
            raise ConfigError(f"{at}: `columns` applies only to formats jsonl and csv — remove it")
        for field, column in self.columns.items():
            if field not in COLUMN_FIELDS:
                raise ConfigError(
                    f'{at}: columns key "{field}" is not a field — use one of '
                    f'{", ".join(COLUMN_FIELDS)} (field = "column name")'
                )
            if not column.strip():
                raise ConfigError(
                    f"{at}: columns.{field} is empty — name the column that holds {field}"
                )
        if self.answers_sep != "|" and fmt != "csv":
            raise ConfigError(f"{at}: `answers_sep` applies only to format csv — remove it")
        if not self.answers_sep:
            raise ConfigError(f'{at}: answers_sep is empty — use a separator such as "|" or ";"')
        hf_set = [k for k in ("hf_name", "hf_config", "split", "cache_dir") if getattr(self, k)]
        if hf_set and fmt != "hf":
            raise ConfigError(f"{at}: `{hf_set[0]}` applies only to format hf — remove it")
        if fmt == "hf" and hf_entry(self.hf_name) is None:
            what = (
                f'hf_name "{self.hf_name}" is not one evalcli maps'
                if self.hf_name
                else "`hf_name` is required"
            )
            raise ConfigError(
                f"{at}: {what} — use one of {', '.join(HF_KNOWN)}, or export the "
                'data to JSONL and use format "jsonl"'
            )
        name = self.dataset_name()
        if not name or "|" in name or name != name.strip():
            raise ConfigError(
                f'{at}: name "{name}" is not usable — use a non-empty name without '
                '"|" or surrounding spaces'
            )

    def dataset_name(self) -> str:
        """The `dataset` value of every item from this source."""
        if self.name:
            return self.name
        if self.format in DEFAULT_NAMES:
            return DEFAULT_NAMES[self.format]
        if self.format == "hf":
            entry = hf_entry(self.hf_name)
            return entry[2] if entry else self.hf_name
        return Path(self.path).stem

    def resolved_path(self, base_dir: Path) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else Path(base_dir) / path
