"""The run directory (the contract with users) and run ids.

    runs/<run-id>/
      run.json  events.jsonl  items.jsonl  report.md  report.html  STOP  run.lock
      logs/worker-<i>.log
      trials/<slug>/results.jsonl predictions.csv per_item_scores.csv significance.json costs.json

Nothing here depends on the current directory: every path hangs off `RunDir.root`.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from evalcli.errors import RunError, StoreWriteError
from evalcli.store.events import AnyEvent
from evalcli.store.fsutil import utc_now, write_error

_RUN_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}", re.ASCII)
# Names Windows reserves for devices, with or without an extension, in any case.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def validate_run_id(run_id: str) -> str:
    """A run id is a folder name that is safe on every platform: ASCII letters, digits, '_',
    '.' and '-', starting with a letter, digit or '_', no '..', no trailing '.', not a
    Windows device name (CON, NUL.txt, com1, ...), at most 120 characters."""
    if run_id == "":
        raise RunError("run id is empty - give a name (letters, digits, '.', '-', '_'), or "
                       "leave --run-id out to get a time-based one")
    problem = ""
    if not _RUN_ID_RE.fullmatch(run_id):
        problem = ("use ASCII letters, digits, '.', '-' and '_' only, starting with a letter, "
                   "digit or '_' (no spaces or path separators), at most 120 characters")
    elif ".." in run_id or run_id.endswith("."):
        problem = "no '..' and no '.' at the end"
    elif run_id.split(".")[0].upper() in _RESERVED:
        problem = "CON, PRN, AUX, NUL, COM1-9 and LPT1-9 are device names on Windows"
    if problem:
        raise RunError(f"run id {run_id!r} is not valid: {problem}")
    return run_id


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"r{stamp}-{secrets.token_hex(2)}"


class RunDir:
    def __init__(self, runs_dir: Path, run_id: str) -> None:
        self.run_id = validate_run_id(run_id)
        self.root = Path(runs_dir).expanduser().resolve() / run_id

    @property
    def manifest(self) -> Path:
        return self.root / "run.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def items(self) -> Path:
        return self.root / "items.jsonl"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def stop_file(self) -> Path:
        return self.root / "STOP"

    @property
    def lock_file(self) -> Path:
        return self.root / "run.lock"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def worker_log(self, index: int) -> Path:
        return self.logs / f"worker-{index}.log"

    def trial_dir(self, slug: str) -> Path:
        return self.root / "trials" / slug

    def results(self, slug: str) -> Path:
        return self.trial_dir(slug) / "results.jsonl"

    def predictions(self, slug: str) -> Path:
        return self.trial_dir(slug) / "predictions.csv"

    def per_item_scores(self, slug: str) -> Path:
        return self.trial_dir(slug) / "per_item_scores.csv"

    def review(self, slug: str) -> Path:
        """Answers to unanswerable items classed as answers (science/review.py)."""
        return self.trial_dir(slug) / "review.json"

    def significance(self, slug: str) -> Path:
        return self.trial_dir(slug) / "significance.json"

    def costs(self, slug: str) -> Path:
        return self.trial_dir(slug) / "costs.json"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    def relative(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def check_runs_dir(self) -> None:
        """The runs folder must be a folder this process can write in: one line otherwise."""
        parent = self.root.parent
        if parent.exists() and not parent.is_dir():
            raise RunError(f"--runs-dir {parent} is a file, not a folder - choose another "
                           "--runs-dir")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            probe = parent / f".evalcli-write-test-{os.getpid()}.tmp"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RunError(f"cannot write in --runs-dir {parent} ({exc.strerror or exc}) - "
                           "choose a folder you can write in") from None

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    def clear_stop(self) -> None:
        """Remove the STOP file (its stop was acted on, or a resume starts anew); one line
        when it cannot go (a folder named STOP, a file another program holds open)."""
        try:
            self.stop_file.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreWriteError(f"cannot remove {self.stop_file} ({exc.strerror or exc}), "
                                  "the request to stop this run - remove it by hand, then "
                                  "try again") from None


class EventLog:
    """events.jsonl: what the supervisor did (worker start/exit/restart, retries, failures).

    A diagnostic log: once a write fails (disk full) later events are dropped instead of
    raising from cleanup code; the results file's own write error is what stops the run.
    """

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "ab")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise write_error(path, exc) from None
        self._encoder = msgspec.json.Encoder()
        self.failed = False

    def emit(self, event: AnyEvent) -> None:
        if self.failed:
            return
        event.at = utc_now()
        try:
            self._fh.write(self._encoder.encode(event) + b"\n")
            self._fh.flush()
        except OSError:
            self.failed = True

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass
