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

from evalcli.errors import RunError
from evalcli.store.fsutil import utc_now

_RUN_ID_RE = re.compile(r"^[\w][\w.-]{0,119}$")


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID_RE.fullmatch(run_id) or ".." in run_id:  # fullmatch: "$" allows a "\n"
        raise RunError(
            f"run id {run_id!r} is not valid — use letters, digits, '.', '-' and '_' only "
            "(no path separators, no '..', at most 120 characters)"
        )
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

    def significance(self, slug: str) -> Path:
        return self.trial_dir(slug) / "significance.json"

    def costs(self, slug: str) -> Path:
        return self.trial_dir(slug) / "costs.json"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    def relative(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def stop_requested(self) -> bool:
        return self.stop_file.exists()


class EventLog:
    """events.jsonl: what the supervisor did (worker start/exit/restart, retries, failures)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "ab")  # noqa: SIM115 - closed in close()
        self._encoder = msgspec.json.Encoder()

    def emit(self, event: str, **fields: object) -> None:
        record = {"at": utc_now(), "event": event, **fields}
        self._fh.write(self._encoder.encode(record) + b"\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
