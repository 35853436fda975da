"""Read the string and number metadata of a GGUF file's header, without llama.cpp.

    GGUF file: magic "GGUF" | version u32 | tensor count u64 | key/value count u64
               | key/value pairs (key string, value type u32, value) | tensor infos | data

The parent process needs one fact before any worker starts — does the model carry a
`tokenizer.chat_template`? — to choose the prompt format (engines/llama_cpp.py) and record
it in the plan. Loading llama.cpp in the parent just for that would make the CLI path heavy,
so this module walks the key/value section (little-endian, versions 2 and 3) and skips
arrays (the 262k-token vocabulary of Gemma) without decoding them.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

# value type -> struct format of one fixed-size value (8 = string, 9 = array)
_FIXED = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
          10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class GGUFHeaderError(ValueError):
    """The file is not a GGUF this reader understands (bad magic, old version, truncated)."""


def read_metadata(path: str | Path) -> dict[str, str | int | float | bool]:
    """The header's scalar and string values by key; arrays are skipped."""
    with open(path, "rb") as fh:
        try:
            view = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            raise GGUFHeaderError(f"{path}: not a GGUF file (bad magic)") from None
        with view:
            reader = _Reader(view, str(path))
            if reader.take(4) != b"GGUF":
                raise GGUFHeaderError(f"{path}: not a GGUF file (bad magic)")
            version = reader.unpack("<I")
            if version not in (2, 3):
                raise GGUFHeaderError(f"{path}: GGUF version {version} is not supported (2 or 3)")
            reader.unpack("<Q")  # tensor count
            out: dict[str, str | int | float | bool] = {}
            for _ in range(reader.unpack("<Q")):
                key = reader.string()
                kind = reader.unpack("<I")
                if kind == _ARRAY:
                    reader.skip_array()
                else:
                    out[key] = reader.value(kind)
            return out


class _Reader:
    """Walks a memory-mapped file, so an array of strings (a 262,144-token vocabulary) is
    skipped by reading lengths only, never copied (docs/performance.md has the timing)."""

    def __init__(self, view, label: str) -> None:
        self.view, self.label, self.pos = view, label, 0

    def _need(self, n: int) -> None:
        if self.pos + n > len(self.view):
            raise GGUFHeaderError(f"{self.label}: truncated GGUF header")

    def take(self, n: int) -> bytes:
        self._need(n)
        self.pos += n
        return self.view[self.pos - n:self.pos]

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        self._need(size)
        value = struct.unpack_from(fmt, self.view, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> str:
        return self.take(self.unpack("<Q")).decode("utf-8", "replace")

    def value(self, kind: int):
        if kind == _STRING:
            return self.string()
        if kind not in _FIXED:
            raise GGUFHeaderError(f"{self.label}: unknown GGUF value type {kind}")
        return self.unpack(_FIXED[kind])

    def skip_array(self) -> None:
        kind, count = self.unpack("<I"), self.unpack("<Q")
        if kind == _STRING:
            view, pos, end, length = self.view, self.pos, len(self.view), struct.Struct("<Q")
            for _ in range(count):
                if pos + 8 > end:
                    raise GGUFHeaderError(f"{self.label}: truncated GGUF header")
                pos += 8 + length.unpack_from(view, pos)[0]
            self.pos = pos
            self._need(0)
        elif kind == _ARRAY:
            for _ in range(count):
                self.skip_array()
        elif kind in _FIXED:
            self.pos += count * struct.calcsize(_FIXED[kind])
            self._need(0)
        else:
            raise GGUFHeaderError(f"{self.label}: unknown GGUF array type {kind}")
