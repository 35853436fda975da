"""results.jsonl: the append-only source of truth, one line per finished unit.

    append(record)  one JSON line, flushed at once (survives a killed supervisor);
                    fsync at most once a second and on close (survives a power cut, nearly)
    append(record, flush=False) + flush()
                    a batch of lines, one write: the supervisor flushes after each wake-up,
                    before it can block or stop, so a kill loses at most lines it has not
                    yet written — their units run again on resume, never twice recorded
    read_statuses() custom_id -> ok | failed (a StatusIndex: 16 bytes per id), streamed; a
                    torn last line (no newline, or undecodable) is reported so resume can
                    cut it off and redo that unit
    LatestResults   one record per custom_id (an "ok" record beats a "failed" one), read
                    through the same index of line offsets: memory grows with ids (16 bytes
                    each), not answers

Failed units are data too: status "failed" with the reason, never an empty answer passed
off as a prediction.
"""

from __future__ import annotations

import os
import time
from array import array
from pathlib import Path
from typing import Literal

import msgspec

from evalcli.errors import RunError
from evalcli.store.fsutil import write_error


class CorruptResults(RunError, ValueError):
    """A line that is not the last one does not decode: the file was edited or damaged."""


def _corrupt(path: Path, line_no: int, why: str = "") -> CorruptResults:
    why = " ".join(why.split())[:200]
    return CorruptResults(
        f"{path} line {line_no}: not a valid result record ({why + '; ' if why else ''}"
        "the file was edited or damaged; "
        "only a last line cut short is repaired by itself) - restore the file, or delete "
        "that line and resume to run its unit again")


# Why a unit failed: engines.base.ErrorKind, restated so that reading a run (show, runs)
# imports no engine code; tests/unit/test_artifact_types.py keeps the two lists equal.
ErrorKind = Literal[
    "engine_error", "connection", "timeout", "rate_limited", "http_4xx", "http_5xx",
    "bad_response", "empty_response", "model_error", "context_overflow", "llama_error",
    "batch_timeout", "batch_missing", "batch_error", "mock_failure", "load", "exception",
    "crash",
]


# How a record's token counts were made (evalcli.science.tokens.SOURCES; a test keeps the two
# lists equal): "" on a record = as the engine reported them, or, on a record written before
# counts were recorded when the unit finished, not recorded where one is missing
TokensSource = Literal["engine", "tokenizer", "tiktoken", "estimate"]


class ReusedFrom(msgspec.Struct, frozen=True, kw_only=True):
    """Where a reused answer was made: the run and unit that called the model."""

    run_id: str
    custom_id: str

    def label(self) -> str:
        return f"{self.run_id}:{self.custom_id}"


class ResultRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    custom_id: str
    status: Literal["ok", "failed"]
    text: str = ""
    finish_reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    request_id: str = ""
    worker: int = -1
    attempts: int = 1
    error: str = ""
    error_kind: ErrorKind | Literal[""] = ""
    finished_at: str = ""
    timings: dict[str, float] = {}
    # wall-clock (Unix epoch seconds) when the unit was sent to its worker and answered:
    # telemetry is attributed to arms by these (0.0 = not recorded, e.g. older runs)
    started_at: float = 0.0
    ended_at: float = 0.0
    # the answer was taken from the answer store, not the model (docs/reuse.md): no latency,
    # timings or start/end times of its own, so resource comparisons leave it out
    reused_from: ReusedFrom | None = None
    # who counted the tokens when the engine reported none (a failed unit: its prompt as
    # sent, its answer 0); "" = the engine's own counts (see TokensSource)
    tokens_source: TokensSource | Literal[""] = ""


def ok_record(custom_id: str, c, *, worker: int, attempts: int, started_at: float = 0.0,
              ended_at: float = 0.0) -> ResultRecord:
    """The record of a unit the engine answered (`c` is an engines.base.Completion)."""
    from evalcli.store.fsutil import utc_now

    return ResultRecord(
        custom_id=custom_id, status="ok", text=c.text, finish_reason=c.finish_reason,
        prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
        latency_ms=round(c.latency_ms, 3), request_id=c.request_id, worker=worker,
        attempts=attempts, finished_at=utc_now(), timings=c.timings,
        started_at=round(started_at, 3), ended_at=round(ended_at, 3),
    )


def failed_record(custom_id: str, error: str, kind: ErrorKind, *, worker: int,
                  attempts: int, started_at: float = 0.0, ended_at: float = 0.0) -> ResultRecord:
    """The record of a unit that failed: the reason, never an empty answer."""
    from evalcli.store.fsutil import utc_now

    return ResultRecord(custom_id=custom_id, status="failed", finish_reason="error",
                        worker=worker, attempts=attempts, error=error, error_kind=kind,
                        finished_at=utc_now(), started_at=round(started_at, 3),
                        ended_at=round(ended_at, 3))


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ResultRecord)


class ResultsWriter:
    """Appends records to one trial's results.jsonl."""

    FSYNC_EVERY_S = 1.0

    def __init__(self, path: Path, small_index: int = 0) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "ab")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise write_error(path, exc) from None
        self._last_sync = time.monotonic()

    def append(self, record: ResultRecord, *, flush: bool = True) -> None:
        """One line, flushed unless `flush` is False (then call flush() after the batch);
        a failed write (disk full) raises StoreWriteError."""
        try:
            self._fh.write(_encoder.encode(record) + b"\n")
        except OSError as exc:
            raise write_error(self.path, exc) from None
        if flush:
            self.flush()

    def flush(self) -> None:
        """Write what append() buffered; fsync at most once a second."""
        try:
            self._fh.flush()
            now = time.monotonic()
            if now - self._last_sync >= self.FSYNC_EVERY_S:
                os.fsync(self._fh.fileno())
                self._last_sync = now
        except OSError as exc:
            raise write_error(self.path, exc) from None

    def close(self) -> None:
        """Flush, fsync and close; never raises (a failed append has raised already)."""
        if not self._fh.closed:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError:
                pass
            finally:
                try:
                    self._fh.close()
                except OSError:
                    pass


class TornTail(msgspec.Struct, frozen=True):
    offset: int  # byte offset where the torn line starts
    length: int


class _Status(msgspec.Struct):
    custom_id: str
    status: Literal["ok", "failed"]


_status_decoder = msgspec.json.Decoder(_Status)


MAX_LINE = 64 << 20  # no record is this long: a longer line is read through, never held
# `evalcli runs` and `show` (store/runinfo.py) index a results file of up to this many lines
# in a dict of its ids: no numpy import, so they start fast (docs/performance.md); one file
# at a time, so the dict's ~175 bytes per id are held briefly. Everything else (resume, parse,
# the end-of-run summary hold an index per trial) keeps the 16-byte-per-id hash arrays.
SMALL_INDEX = 20_000


def _read_through(fh) -> tuple[int, bool]:
    """Skip to the end of the current line in 1 MiB steps: (bytes skipped, ended by a newline)."""
    skipped = 0
    while chunk := fh.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            return skipped, True
    return skipped, False


def _scan(fh, path: Path):
    """(offset, _Status) per complete record line of an open results file; returns
    (StopIteration value) the torn last line, if any. Decodes two fields per line, and holds
    no line longer than MAX_LINE (a crafted or damaged file cannot fill the memory)."""
    offset, line_no = 0, 0
    while line := fh.readline(MAX_LINE + 1):
        line_no += 1
        start, offset = offset, offset + len(line)
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            skipped, ended = _read_through(fh)
            offset += skipped
            if not ended:
                return TornTail(start, offset - start)
            raise _corrupt(path, line_no, f"a line of {offset - start:,} bytes, longer than any "
                                          "record")
        if not line.endswith(b"\n"):
            return TornTail(start, len(line))
        if not line.strip():
            continue
        try:
            record = _status_decoder.decode(line)
        except msgspec.ValidationError as exc:  # valid JSON, wrong fields: never torn
            raise _corrupt(path, line_no, str(exc)) from None
        except (msgspec.DecodeError, RecursionError):
            if fh.read(1):  # not the last line: corruption, not a torn append
                raise _corrupt(path, line_no) from None
            return TornTail(start, len(line))
        yield start, record
    return None


class StatusIndex:
    """custom_id -> "ok" | "failed" for every id of a results file (the last ok line wins,
    else the last failed one), and where that winning line is. A file of up to `small_index`
    lines (0 unless asked: SMALL_INDEX) is a dict of its ids; otherwise it does not hold them:
    each id is keyed by a 64-bit hash in sorted arrays (16 bytes per id). The lines of one
    hash are checked to be one id when it is built; if two ids ever shared a hash, it keeps a
    dict of the ids instead. A lookup of an id not in the file matches another only if their
    hashes are equal (about 1 in 2**64 per lookup). `set` records a status found later (kept
    apart, one entry per id set)."""

    def __init__(self, fh=None, path: Path | None = None, small_index: int = 0) -> None:
        """Scan the open results file `fh` (None: no file, no ids); `torn` is its torn last
        line, if any."""
        self.torn: TornTail | None = None
        self._later: dict[str, str] = {}
        hashes, wheres = array("q"), array("q")
        ids: list[str] | None = []  # while the file is small (small_index lines)
        if fh is not None:
            lines = _scan(fh, path)
            try:
                while True:
                    start, record = next(lines)
                    hashes.append(hash(record.custom_id))
                    wheres.append(start * 2 + (record.status == "ok"))
                    if ids is not None:
                        ids.append(record.custom_id)
                        if len(ids) > small_index:
                            ids = None
            except StopIteration as end:
                self.torn = end.value
        if ids is not None:
            self._by_id = {}
            for custom_id, where in zip(ids, wheres, strict=True):
                self._win(custom_id, where)
            return
        self._build(hashes, wheres, fh)

    def _win(self, custom_id: str, where: int) -> None:
        """A line of `custom_id`, in file order, into the dict: the last ok line wins, else
        the last failed one; the dict keeps the order the ids first appear."""
        assert self._by_id is not None
        current = self._by_id.get(custom_id)
        if current is None or where & 1 or not current & 1:
            self._by_id[custom_id] = where

    def _build(self, hashes: array, wheres: array, fh) -> None:
        import numpy as np  # here, not at import: `evalcli show` and `runs` start fast

        # sorted hashes, the winning line of each (offset × 2, + 1 when ok), and the winners
        # in the order their ids first appear; or, after a hash collision, a dict by id
        self._by_id: dict[str, int] | None = None
        h = np.frombuffer(hashes, np.int64) if len(hashes) else np.zeros(0, np.int64)
        w = np.frombuffer(wheres, np.int64) if len(wheres) else np.zeros(0, np.int64)
        n = h.size
        if n == 0:
            self._hash = self._where = self._first = h
            return
        line = np.arange(n)
        order = np.lexsort(((w & 1) * n + line, h))  # by hash; in it, failed then ok, by line
        h, w, line = h[order], w[order], line[order]
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        ends = np.r_[starts[1:], n] - 1  # a hash's last line there is its winner
        if np.any(ends > starts) and _collides(fh, w, starts, ends):
            self._by_id = {}
            for where in w[np.argsort(line)].tolist():
                self._win(_id_at(fh, where), where)
            return
        self._hash, self._where = h[starts], w[ends]
        self._first = np.argsort(np.minimum.reduceat(line, starts), kind="stable")

    def where(self, custom_id: str) -> int | None:
        """Offset × 2 (+ 1 when ok) of the id's winning line in the file, or None."""
        if self._by_id is not None:
            return self._by_id.get(custom_id)
        h = hash(custom_id)
        at = int(self._hash.searchsorted(h))
        return int(self._where[at]) if at < self._hash.size and self._hash[at] == h else None

    def get(self, custom_id: str, default: str | None = None) -> str | None:
        later = self._later.get(custom_id)
        if later is not None:
            return later
        where = self.where(custom_id)
        return default if where is None else ("ok" if where & 1 else "failed")

    def get_many(self, custom_ids: list[str]) -> list[str | None]:
        """get() of each id, the lookups done together (one sorted search)."""
        if self._by_id is not None or not custom_ids:
            return [self.get(custom_id) for custom_id in custom_ids]
        import numpy as np

        h = np.fromiter((hash(c) for c in custom_ids), dtype=np.int64, count=len(custom_ids))
        at = np.minimum(self._hash.searchsorted(h), max(self._hash.size - 1, 0))
        found = (self._hash[at] == h) if self._hash.size else np.zeros(h.size, bool)
        ok = (self._where[at] & 1) == 1 if self._hash.size else found
        out = np.where(found, np.where(ok, "ok", "failed"), "").tolist()
        later = self._later
        return [later.get(c) or (s or None) for c, s in zip(custom_ids, out, strict=True)]

    def set(self, custom_id: str, status: str) -> None:
        self._later[custom_id] = status

    def count(self, status: str) -> int:
        ok = status == "ok"
        if self._by_id is not None:
            n = sum(1 for cid, where in self._by_id.items()
                    if cid not in self._later and where & 1 == ok)
        else:
            n = int(((self._where & 1) == ok).sum())
            n -= sum(1 for cid in self._later if (where := self.where(cid)) is not None
                     and where & 1 == ok)
        return n + sum(1 for s in self._later.values() if s == status)

    def winners(self) -> list[int]:
        """The winning lines (offset × 2, + 1 when ok), in the order their ids first appear
        in the file (statuses `set` later not included)."""
        if self._by_id is not None:
            return list(self._by_id.values())
        return self._where[self._first].tolist()

    def __len__(self) -> int:
        extra = sum(1 for cid in self._later if self.where(cid) is None)
        return (len(self._by_id) if self._by_id is not None else int(self._hash.size)) + extra


def _collides(fh, where, starts, ends) -> bool:
    """Whether the lines of some hash belong to more than one id (read to know)."""
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if b > a and len({_id_at(fh, int(x)) for x in where[a:b + 1]}) > 1:
            return True
    return False


def _id_at(fh, where: int) -> str:
    fh.seek(where >> 1)
    return _status_decoder.decode(fh.readline()).custom_id


def read_statuses(path: Path, small_index: int = 0) -> tuple[StatusIndex, TornTail | None]:
    """custom_id -> "ok" | "failed" (ok wins), streaming: memory grows with ids (16 bytes
    each), not texts.

    This is what planning a resume needs. Only the last line may be torn (appends are
    sequential); an undecodable line elsewhere raises CorruptResults (a RunError).
    """
    if not path.exists():
        return StatusIndex(), None
    with open(path, "rb") as fh:
        index = StatusIndex(fh, path, small_index)
    return index, index.torn


class LatestResults:
    """The winning record per custom_id (the last ok one if any, else the last failed one)
    without holding the records or the ids (a StatusIndex of where each id's winning line
    is), each record read when asked for.

        with LatestResults(path) as results:
            results.get(custom_id) -> ResultRecord | None   (the record read is checked)
            results.status(custom_id) -> "ok" | "failed" | None   (no read)
            results.count("ok" | "failed")
            results.records("failed") -> the winning failed records, in file order
            results.torn -> TornTail | None (a torn last line is not a record)
    """

    def __init__(self, path: Path, small_index: int = 0) -> None:
        self.path = path
        self._fh = None
        if not path.exists():
            self._index = StatusIndex()
        else:
            self._fh = open(path, "rb")  # noqa: SIM115 - closed in close()
            try:
                self._index = StatusIndex(self._fh, path, small_index)
            except BaseException:
                self.close()
                raise
        self.torn = self._index.torn

    def status(self, custom_id: str) -> str | None:
        return self._index.get(custom_id)

    def count(self, status: str) -> int:
        return self._index.count(status)

    def get(self, custom_id: str) -> ResultRecord | None:
        where = self._index.where(custom_id)
        if where is None:
            return None
        record = self._read(where)
        return record if record.custom_id == custom_id else None

    def _read(self, where: int) -> ResultRecord:
        self._fh.seek(where >> 1)
        try:
            return _decoder.decode(self._fh.readline())
        except (msgspec.DecodeError, RecursionError) as exc:  # a wrongly typed field, say
            why = str(exc) if isinstance(exc, msgspec.DecodeError) else "nested too deeply"
            self._fh.seek(0)
            left, line_no = where >> 1, 1
            while left > 0 and (block := self._fh.read(min(left, 1 << 20))):
                line_no, left = line_no + block.count(b"\n"), left - len(block)
            raise _corrupt(self.path, line_no, why) from None

    def records(self, status: str | None = None):
        """The winning records (only those with `status` if given), in the order their ids
        first appear in the file; each read when reached."""
        for where in self._index.winners():
            if status is None or (where & 1) == (status == "ok"):
                yield self._read(where)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> LatestResults:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cut_torn_tail(path: Path, torn: TornTail) -> None:
    """Drop a torn last line so the next append starts on a clean line."""
    with open(path, "r+b") as fh:
        fh.truncate(torn.offset)
        fh.flush()
        os.fsync(fh.fileno())
