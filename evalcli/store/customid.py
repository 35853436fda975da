"""The one custom_id format and parser: `dataset|item_id|condition|temp|sample_index|type`.

The predecessor's format, kept so its predictions.csv files read alike. It imports nothing
of engines or ipc: scoring and `evalcli analyze` use it without any engine.
"""

from __future__ import annotations

import msgspec


def format_temp(temp: float) -> str:
    """0.0 -> "0.0", 0.7 -> "0.7", 0.75 -> "0.75": one decimal unless more are needed."""
    short = f"{temp:.1f}"
    return short if float(short) == temp else repr(float(temp))


class CustomId(msgspec.Struct, frozen=True):
    dataset: str
    item_id: str
    condition: str
    temp: float
    sample_index: int
    type: str

    @property
    def item_key(self) -> str:
        return f"{self.dataset}|{self.item_id}"

    def __str__(self) -> str:
        return "|".join(
            [self.dataset, self.item_id, self.condition, format_temp(self.temp),
             str(self.sample_index), self.type]
        )


def parse_custom_id(text: str) -> CustomId:
    """Parse `dataset|item_id|condition|temp|sample_index|type` (also the predecessor's)."""
    parts = text.split("|")
    if len(parts) != 6:
        raise ValueError(f"custom_id {text!r} does not have 6 '|'-separated fields")
    dataset, item_id, condition, temp, sample, kind = parts
    value = float(temp)
    if not 0.0 <= value <= 100.0:  # also nan and ±inf (e.g. "1e400")
        raise ValueError(f"custom_id {text!r}: temperature {temp!r} is not a number from 0 "
                         "to 100")
    index = int(sample)
    if index < 0:
        raise ValueError(f"custom_id {text!r}: sample index {sample!r} is negative")
    return CustomId(dataset, item_id, condition, value, index, kind)
