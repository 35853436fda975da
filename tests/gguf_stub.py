"""A GGUF file that is only a header (the keys the VRAM estimate reads) padded, sparse, to
the size of a real model: `evalcli/inputs/vram.py` reads the header and the file size."""

from __future__ import annotations

import struct
from pathlib import Path

LLAMA3_8B = {"general.architecture": "llama", "llama.block_count": 32,
             "llama.embedding_length": 4096, "llama.attention.head_count": 32,
             "llama.attention.head_count_kv": 8}


def write_gguf_stub(path: Path, size: int, meta: dict[str, str | int] | None = None) -> Path:
    meta = LLAMA3_8B if meta is None else meta

    def text(value: str) -> bytes:
        raw = value.encode("utf-8")
        return struct.pack("<Q", len(raw)) + raw

    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(meta))
    for key, value in meta.items():
        body += text(key)
        body += (struct.pack("<I", 8) + text(value) if isinstance(value, str)
                 else struct.pack("<II", 4, value))  # type 4: uint32
    with open(path, "wb") as fh:
        fh.write(body)
        fh.truncate(size)
    return path
