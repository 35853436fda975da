"""The run's typed JSON files (significance.json, costs.json, review.json): one way to write
them and one way to read them back.

    write_json(path, struct)             atomic, indented (readable, jq-able), a final newline
    read_json(path, Type, redo=...)      the file as Type; a missing or damaged file is one
                                         DataError naming it and the command that remakes it
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import msgspec

from evalcli.errors import DataError
from evalcli.store.fsutil import atomic_write_bytes

T = TypeVar("T")


def write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(obj), indent=2) + b"\n")


def read_json(path: Path, type_: type[T], *, redo: str) -> T:
    """`redo`: the stage that writes the file (the fix named in the error)."""
    fix = f"run the {redo} stage again (evalcli resume RUN --from {redo})"
    try:
        return msgspec.json.decode(path.read_bytes(), type=type_)
    except FileNotFoundError:
        raise DataError(f"{path}: missing - {fix}") from None
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        why = " ".join(str(exc).split())[:200] if not isinstance(exc, RecursionError) \
            else "nested too deeply"
        raise DataError(f"{path}: not a valid {path.name} ({why}) - {fix}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
