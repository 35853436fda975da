"""A non-editable install works: profiles, prompt sets and sample data are package data,
found through importlib.resources, not through the source tree or the current folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_install_runs_from_anywhere(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT),
                            "-w", str(wheels)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    [wheel] = wheels.glob("evalcli-*.whl")
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                              "--target", str(target), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run([sys.executable, "-c", "import evalcli, profiles; "
                            "print(evalcli.__file__); print(profiles.bundled_profiles())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(target))  # the installed copy, not the source tree
    run = subprocess.run([sys.executable, "-m", "evalcli", "run", "--profile", "mock",
                          "--limit-items", "2", "--runs-dir", "runs", "--run-id", "w"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((elsewhere / "runs" / "w" / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed"
    assert manifest["inputs"]["prompt_sets"][0]["source"] == "bundled:default"
