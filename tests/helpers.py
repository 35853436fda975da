"""Shared helpers for the process and model tiers: write a profile, run the real CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
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


def evalcli(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI (python -m evalcli) in a child process."""
    return subprocess.run([sys.executable, "-m", "evalcli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def popen_evalcli(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evalcli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def trial_dirs(run_root: Path) -> list[Path]:
    return sorted((run_root / "trials").iterdir())
