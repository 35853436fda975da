"""A non-editable install works: profiles, prompt sets and sample data are package data,
found through importlib.resources, not through the source tree or the current folder.

The wheel is built offline from a copy of the checkout under tmp_path (the files git
tracks, plus new ones it does not ignore), with the build backend installed in this
environment (setuptools, in the dev extra): the checkout gets no build/ or *.egg-info, and a
stale build/lib there cannot carry a deleted module into the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("evalcli", "engines", "ipc", "profiles")


def _source_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, timeout=60)
    assert listed.returncode == 0, listed.stderr.decode(errors="replace")
    names = [n for n in listed.stdout.decode("utf-8").split("\0") if n]
    return [n for n in names if (ROOT / n).is_file()]  # a deleted, still tracked file is gone


def _copy_checkout(files: list[str], dest: Path) -> None:
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def _build_wheel(tmp_path: Path) -> tuple[Path, list[str]]:
    files = _source_files()
    source = tmp_path / "source"
    _copy_checkout(files, source)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                            "--no-build-isolation", "-q", str(source), "-w", str(wheels)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    [wheel] = wheels.glob("evalcli-*.whl")
    return wheel, files


def test_wheel_holds_the_modules_and_data_of_the_checkout_and_nothing_else(tmp_path):
    wheel, files = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    tops = {n.split("/")[0] for n in names}
    assert tops == {*PACKAGES, "evalcli-0.1.0.dist-info"}, tops  # no tests/, docs/, benchmarks/
    packaged = [n for n in files if n.split("/")[0] in PACKAGES]
    modules = {n for n in packaged if n.endswith(".py")}
    assert {n for n in names if n.endswith(".py")} == modules  # no module the checkout lacks
    data = {n for n in packaged if n.startswith("evalcli/inputs/data/")
            or (n.startswith("profiles/") and n.endswith(".toml"))}
    assert data and data <= set(names), sorted(data - set(names))
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_install_runs_from_anywhere(tmp_path):
    wheel, _ = _build_wheel(tmp_path)
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
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
