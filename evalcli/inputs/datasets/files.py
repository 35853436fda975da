"""Reading dataset files: every way a file can be unusable becomes one DataError line.

    read_bytes(path)          missing / a folder / unreadable          -> "<file>: ... — <fix>"
    decode_json(path, T)      bad JSON, wrong shape (msgspec path)      -> "<file> at data[3].qas[1]: ..."
    iter_jsonl(path)          (line number, JSON object) per non-blank line, UTF-8 with or without BOM
    read_text(path)           whole file as UTF-8 text (BOM accepted), for CSV

`label` is how the user wrote the path (the `path` key), so messages match their profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from evalcli.errors import DataError

T = TypeVar("T")
BOM = b"\xef\xbb\xbf"
_AT = re.compile(r"^(?P<msg>.*) - at `\$(?P<path>[^`]*)`$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")


def read_bytes(path: Path, label: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(
            f"{label}: file not found (looked for {path}) — check `path` in [[datasets]]; "
            "relative paths are resolved against the profile's folder"
        ) from None
    except IsADirectoryError:
        raise DataError(
            f"{label}: is a folder, not a file — point `path` at the data file"
        ) from None
    except PermissionError:
        raise DataError(
            f"{label}: permission denied reading {path} — check the file's permissions"
        ) from None
    except OSError as exc:
        raise DataError(
            f"{label}: cannot read {path} ({exc.strerror or exc}) — check the file"
        ) from None


def _utf8(data: bytes, label: str, line: int | None = None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = f" line {line}" if line is not None else ""
        raise DataError(
            f"{label}{at}: not UTF-8 text (bad byte at offset {exc.start}) — save the file as UTF-8"
        ) from None


def read_text(path: Path, label: str) -> str:
    data = read_bytes(path, label)
    return _utf8(data.removeprefix(BOM), label)


def describe_validation(message: str) -> tuple[str, str]:
    """Split a msgspec error into (record path like `data[0].qas[3]`, friendly message)."""
    m = _AT.match(message)
    msg, path = (m["msg"], m["path"].lstrip(".")) if m else (message, "")
    if mm := _MISSING.match(msg):
        msg = f'field "{mm["field"]}" is missing'
    elif mm := _EXPECTED.match(msg):
        msg = f"expected {mm['want']}, found {mm['got']}"
    return path, msg


def decode_json(path: Path, label: str, type: type[T], hint: str) -> T:
    """Decode one whole JSON file into `type`; `hint` says what the file should look like."""
    data = read_bytes(path, label).removeprefix(BOM)
    try:
        return msgspec.json.decode(data, type=type)
    except msgspec.ValidationError as exc:
        where, msg = describe_validation(str(exc))
        at = f" at {where}" if where else ""
        raise DataError(f"{label}{at}: {msg} — {hint}") from None
    except msgspec.DecodeError as exc:
        _utf8(data, label)  # a clearer message when the real problem is the encoding
        raise DataError(f"{label}: not valid JSON ({exc}) — {hint}") from None
    except RecursionError:
        raise DataError(f"{label}: JSON nested too deeply to read — {hint}") from None


def iter_jsonl(path: Path, label: str, hint: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each non-blank line of a JSONL file."""
    data = read_bytes(path, label).removeprefix(BOM)
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        text = _utf8(raw, label, number)
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise DataError(f"{label} line {number}: not valid JSON ({exc}) — {hint}") from None
        except RecursionError:
            raise DataError(f"{label} line {number}: JSON nested too deeply to read — {hint}"
                            ) from None
        if not isinstance(obj, dict):
            raise DataError(
                f"{label} line {number}: expected a JSON object, found {type(obj).__name__} — {hint}"
            )
        yield number, obj
