"""Typed, framed messages over a multiprocessing Connection.

`send_bytes`/`recv_bytes` frame each msgpack payload (a length header on POSIX, a message
-mode named pipe on Windows); pickle is never used. One typed decoder per direction.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Generic, TypeVar

import msgspec

from ipc.messages import FromWorker, ToWorker

In = TypeVar("In")

# Bound on one frame: a message larger than this is a bug (prompts are far smaller).
MAX_FRAME_BYTES = 16 * 1024 * 1024


class Channel(Generic[In]):
    def __init__(self, conn: Connection, incoming: type) -> None:
        self.conn = conn
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(incoming)

    def send(self, message: msgspec.Struct) -> None:
        self.conn.send_bytes(self._encoder.encode(message))

    def recv(self) -> In:
        return self._decoder.decode(self.conn.recv_bytes(MAX_FRAME_BYTES))

    def close(self) -> None:
        self.conn.close()


def supervisor_channel(conn: Connection) -> Channel[FromWorker]:
    return Channel(conn, FromWorker)


def worker_channel(conn: Connection) -> Channel[ToWorker]:
    return Channel(conn, ToWorker)
