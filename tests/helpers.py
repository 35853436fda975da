"""Shared helpers for the process and model tiers: write a profile, run the real CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec


def write_profile(path: Path, *, engine: str = "mock", workers: int = 2, options: dict | None = None,
                  sampling: dict | None = None, run: dict | None = None,
                  datasets: list[dict] | None = None) -> Path:
    """A profile TOML built from plain dicts (msgspec's TOML encoder)."""
    profile = {
        "description": "test profile",
        "engine": {"name": engine, "workers": workers, "options": options or {}},
        "sampling": sampling or {"temperatures": [0.0], "samples_per_item": 1},
        "datasets": datasets or [{"format": "sample"}],
        "prompts": {"set": "default"},
        "run": run or {},
    }
    path.write_bytes(msgspec.toml.encode(profile))
    return path


def evalcli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None,
            process: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI: in this process (tests/cli_inprocess.py) for a test that is not about the
    CLI's process, as `python -m evalcli` in a child for one that is (`process=True`), that
    gives the child an environment (`env`), or when EVALCLI_TESTS_CHILDREN=1 makes every
    call a child. Either way: returncode, stdout and stderr as text."""
    if process or env is not None or os.environ.get("EVALCLI_TESTS_CHILDREN") == "1":
        return subprocess.run([sys.executable, "-m", "evalcli", *map(str, args)], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    from tests.cli_inprocess import evalcli_here

    code, out, err = evalcli_here(*args, cwd=cwd)
    return subprocess.CompletedProcess(["evalcli", *map(str, args)], code, out, err)


def popen_evalcli(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evalcli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def trial_dirs(run_root: Path) -> list[Path]:
    return sorted((run_root / "trials").iterdir())


def wait_until(condition: Callable[[], object], what: str, timeout: float = 120):
    """Poll `condition` until it returns something truthy (returned); fail naming `what` at the
    deadline. Synchronisation by state, never by a fixed sleep: the poll interval only sets
    how soon a slow machine is noticed, not whether the test passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.02)


def result_lines(run_root: Path) -> int:
    """Units recorded so far, over every trial's results.jsonl (complete lines only)."""
    return sum(p.read_bytes().count(b"\n") for p in run_root.glob("trials/*/results.jsonl"))


def events(run_root: Path) -> list[dict]:
    """The run's events.jsonl, complete lines only (a writer may be mid-line)."""
    path = run_root / "events.jsonl"
    if not path.exists():
        return []
    data = path.read_bytes()
    return [msgspec.json.decode(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]
