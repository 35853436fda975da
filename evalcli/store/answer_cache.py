"""The answer store: finished answers kept across runs, keyed on everything that makes them.

    run A ──fresh ok answer──► put(key, model, answer, run, unit)   INSERT OR IGNORE: once per key
    run B ──key of a pending unit──► get_many(keys) ──hit──► the answer, and where it came from
                                                      miss──► the engine runs the unit

One SQLite file (evalcli.run.reuse.default_path: `answers.sqlite3` in the user's cache
folder, or $EVALCLI_ANSWER_CACHE), in WAL mode: any number of runs read it while one writes, and the
writer is always a supervisor (workers never open it). A key is the sha256 of the unit's
whole identity (evalcli/run/reuse.py), so a row is written at most once whoever writes it
first: two runs at once storing the same answer leave one row.

The store is an accelerator, never a source of truth: whatever goes wrong with it — a file
that is not a database, one cut short, a lock held past the timeout, a full disk — is one
`AnswerCacheError` (a one-line reason), and the caller goes on without the store.

    answers   key, model_key, model (label), run_id, custom_id, created_at, answer (msgpack)
    disabled  model_key, model, reason, at     reuse refused for a model (determinism check)
    meta      schema version
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import msgspec

from evalcli.store.results import TokensSource

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another run's transaction
_HEADER = b"SQLite format 3\x00"


class AnswerCacheError(Exception):
    """The store cannot be used (one line: what and why); the run goes on without it."""


class StoredAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What a reused unit takes from the run that made the answer."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    # how the counts were made when the engine reported none (results.jsonl's tokens_source;
    # "" = the engine's own, and every answer stored before this field)
    tokens_source: TokensSource | Literal[""] = ""


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    answer: StoredAnswer
    run_id: str
    custom_id: str


class ModelEntries(msgspec.Struct, frozen=True, kw_only=True):
    model_key: str
    model: str
    entries: int
    bytes: int
    disabled: str = ""  # why reuse is off for this model ("" = on)


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(StoredAnswer).decode


def _check_file(path: Path) -> None:
    """A file that is not SQLite, or shorter than its header says (cut short mid-write by a
    copy or a full disk): refused before SQLite reads a page of it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AnswerCacheError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        return  # an empty file: SQLite makes it a database
    if len(head) < 100 or not head.startswith(_HEADER):
        raise AnswerCacheError(f"{path}: not an SQLite database (damaged or cut short)")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the header's page count is current
    if valid and pages and size < page * pages:
        raise AnswerCacheError(f"{path}: cut short ({size:,} of {page * pages:,} bytes)")


class AnswerCache:
    """One connection to the store, from one process. Every method raises AnswerCacheError
    (never sqlite3's own errors)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        _check_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                 isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        self._db: sqlite3.Connection | None = db
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, "
                    "model_key TEXT NOT NULL, model TEXT NOT NULL, run_id TEXT NOT NULL, "
                    "custom_id TEXT NOT NULL, created_at TEXT NOT NULL, answer BLOB NOT NULL)"
                    " WITHOUT ROWID")
                db.execute("CREATE INDEX IF NOT EXISTS answers_model "
                           "ON answers (model_key)")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS disabled (model_key TEXT PRIMARY KEY, "
                    "model TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL)")
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                           (SCHEMA_VERSION,))
            (version,) = db.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
        except sqlite3.Error as exc:
            self.close()
            raise self._error(exc) from None
        if version != SCHEMA_VERSION:
            self.close()
            raise AnswerCacheError(f"{self.path}: written by another evalcli version (schema "
                                   f"{version}, this one reads {SCHEMA_VERSION})")

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise AnswerCacheError(f"{self.path}: closed")
        return self._db

    def _error(self, exc: BaseException) -> AnswerCacheError:
        text = str(exc) or type(exc).__name__
        if "locked" in text or "busy" in text:
            text += f" (another process held it longer than {BUSY_TIMEOUT_MS // 1000} s)"
        return AnswerCacheError(f"{self.path}: {text}")

    def get_many(self, keys: list[str]) -> dict[str, Hit]:
        """The stored answer of each key that has one."""
        found: dict[str, Hit] = {}
        try:
            for at in range(0, len(keys), 500):
                chunk = keys[at:at + 500]
                marks = ",".join("?" * len(chunk))
                for key, run_id, custom_id, blob in self.db.execute(
                        f"SELECT key, run_id, custom_id, answer FROM answers WHERE key IN "
                        f"({marks})", chunk):
                    found[key] = Hit(answer=_decode(blob), run_id=run_id, custom_id=custom_id)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        except msgspec.DecodeError:
            raise AnswerCacheError(f"{self.path}: a stored answer does not decode "
                                   "(damaged)") from None
        return found

    def put_many(self, rows: Iterable[tuple[str, str, str, StoredAnswer, str, str]]) -> int:
        """Store (key, model_key, model, answer, run_id, custom_id) rows in one transaction; a
        key already stored keeps its first answer. Returns the rows added."""
        from evalcli.store.fsutil import utc_now

        now = utc_now()
        params = [(key, model_key, model, run_id, custom_id, now, _encode(answer))
                  for key, model_key, model, answer, run_id, custom_id in rows]
        if not params:
            return 0
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                before = self.db.total_changes
                self.db.executemany("INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     params)
                return self.db.total_changes - before
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def disabled(self, model_key: str) -> str:
        """Why reuse is off for this model ("" = it is not)."""
        try:
            row = self.db.execute("SELECT reason FROM disabled WHERE model_key = ?",
                                   (model_key,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return row[0] if row else ""

    def disable(self, model_key: str, model: str, reason: str) -> None:
        from evalcli.store.fsutil import utc_now

        try:
            with self.db:
                self.db.execute("INSERT OR REPLACE INTO disabled VALUES (?, ?, ?, ?)",
                                 (model_key, model, reason, utc_now()))
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def models(self) -> list[ModelEntries]:
        """Entries and bytes of answers per model, most entries first."""
        try:
            rows = self.db.execute(
                "SELECT model_key, model, COUNT(*), SUM(LENGTH(answer) + LENGTH(key) + "
                "LENGTH(custom_id) + LENGTH(run_id)) FROM answers GROUP BY model_key, model "
                "ORDER BY COUNT(*) DESC, model").fetchall()
            off = dict(self.db.execute("SELECT model_key, reason FROM disabled").fetchall())
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        out = [ModelEntries(model_key=k, model=m, entries=n, bytes=int(b or 0),
                            disabled=off.pop(k, "")) for k, m, n, b in rows]
        return out

    def clear(self, model: str | None = None) -> int:
        """Delete every answer (and every reuse refusal), or those of models whose label or
        key starts with `model`; returns the answers deleted."""
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                if model is None:
                    n = self.db.execute("DELETE FROM answers").rowcount
                    self.db.execute("DELETE FROM disabled")
                else:
                    # the key's start compared as text (LIKE would read _ and % in it)
                    where = "model = ? OR substr(model_key, 1, ?) = ?"
                    args = (model, len(model), model)
                    n = self.db.execute(f"DELETE FROM answers WHERE {where}", args).rowcount
                    self.db.execute(f"DELETE FROM disabled WHERE {where}", args)
            if model is None:
                self.db.execute("VACUUM")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return n

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_store(path: Path) -> list[Path]:
    """Delete a store that cannot be opened (and its WAL files): `evalcli cache clear` on a
    damaged store. Returns the files removed."""
    removed = []
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed
