"""No stuck run ids (issue 26): the process is killed at every point of the run's start-up
writes (before each atomic write, with its temp file written but not in place, and after it:
the fault hook in evalcli/store/fsutil.py, as kill -9 would) — and each time the run id is
either free (`resume` says there is no run, and `run --run-id` takes the id) or a run that
`resume` completes, with every planned unit exactly once."""

from __future__ import annotations

import json
import shutil

import pytest

from evalcli.store.fsutil import FAULT_ENV
from tests.helpers import evalcli, read_csv, trial_dirs, write_profile

UNITS = 2  # 1 item x 2 conditions
# start-up: run.json (creating), items.jsonl, run.json (created): 3 points each; then the
# first writes of the generate stage
POINTS = range(1, 12)


def _complete(root) -> None:
    manifest = json.loads((root / "run.json").read_text())
    assert manifest["status"] == "completed", manifest["status"]
    [trial] = trial_dirs(root)
    ids = [r["custom_id"] for r in read_csv(trial / "predictions.csv")]
    assert len(ids) == UNITS and len(set(ids)) == UNITS


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_start_up_write_leaves_a_free_or_resumable_id(tmp_path, point):
    profile = write_profile(tmp_path / "p.toml", workers=1)
    runs = tmp_path / "runs"
    args = ("--profile", profile, "--limit-items", "1", "--runs-dir", runs, "--run-id", "x")
    killed = evalcli("run", *args, env={FAULT_ENV: str(point)})
    assert killed.returncode == 137, killed.stdout + killed.stderr
    root = runs / "x"
    status = json.loads((root / "run.json").read_text())["status"] \
        if (root / "run.json").exists() else None
    spare = tmp_path / "spare"
    shutil.copytree(root, spare / "x")
    resumed = evalcli("resume", "x", "--runs-dir", runs)
    assert "Traceback" not in resumed.stderr, resumed.stderr
    if status is None:  # nothing: the id is free
        assert resumed.returncode == 4 and "no run 'x'" in resumed.stderr, resumed.stderr
        again = evalcli("run", *args)
        assert again.returncode == 0, again.stdout + again.stderr
    else:
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _complete(root)
    if status == "creating":  # a new run with the same id takes it over too
        again = evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir",
                        spare, "--run-id", "x")
        assert again.returncode == 0, again.stdout + again.stderr
        _complete(spare / "x")
