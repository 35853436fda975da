"""Sequential runs end to end: a real `evalcli run` with [stopping] on the mock engine
(spawned workers) stops at its verdict, records it, skips the rest, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.helpers import evalcli, read_csv, trial_dirs
from tests.process.test_manifest_schema import _documented_schema


def _profile(path: Path, accuracy: dict[str, float], stopping: dict | None) -> Path:
    profile = {
        "description": "sequential test",
        "engine": {"name": "mock", "workers": 2,
                   "options": {"abstain_rate": 0.0, "accuracy_by_condition": accuracy}},
        "sampling": {"temperatures": [0.0], "samples_per_item": 1},
        "datasets": [{"format": "sample"}],
        "prompts": {"set": "default"},
        **({"stopping": stopping} if stopping is not None else {}),
    }
    path.write_bytes(msgspec.toml.encode(profile))
    return path


def _manifest(root: Path) -> dict:
    return json.loads((root / "run.json").read_text(encoding="utf-8"))


def _events(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "events.jsonl").read_text("utf-8").splitlines()]


def test_a_large_difference_stops_early_and_resume_does_nothing_unless_asked(tmp_path):
    profile = _profile(tmp_path / "p.toml", {"control": 0.3, "treatment": 0.9},
                       {"block_size": 10, "min_items": 20})
    runs, root = tmp_path / "runs", tmp_path / "runs" / "seq"
    result = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "seq")
    assert result.returncode == 0, result.stderr
    manifest = _manifest(root)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(manifest, _documented_schema())
    stopping, [trial] = manifest["stopping"], manifest["trials"].values()
    look = stopping["look"]
    assert manifest["status"] == "completed" and stopping["stopped_early"] is True
    assert look["decision"] == "difference" and look["direction"] == "treatment better"
    assert look["lo"] > 0 and look["items"] < look["of_items"] == 146
    assert trial["skipped"] == stopping["skipped_units"] > 0 and trial["pending"] == 0
    assert trial["done"] + trial["failed"] + trial["skipped"] == trial["planned"] == 292
    rows = read_csv(trial_dirs(root)[0] / "predictions.csv")
    statuses = [r["status"] for r in rows]
    assert statuses.count("skipped") == trial["skipped"] and "failed" not in statuses
    assert "pending" not in statuses
    assert any(e["event"] == "stopping" and e["reason"] == "verdict" for e in _events(root))
    assert "sequential verdict: stopped after" in result.stdout
    assert "[sequential] em: control" in result.stdout  # the plain progress lines, per block
    assert "skipped (stopped at the verdict)" in result.stdout
    listed = evalcli("runs", "--runs-dir", runs)  # the listing says why it is not 292/292
    assert f"({trial['skipped']} skipped: stopped at its verdict)" in listed.stdout
    report = (root / "report.md").read_text(encoding="utf-8")
    verdict = report.split("## Verdict", 1)[1].split("##", 1)[0].strip()
    assert verdict.startswith(f"**Sequential verdict: stopped after {look['items']} of 146 "
                              "items: treatment better, anytime-valid 95% CI [")
    assert "optionally stopped sample" in verdict
    assert "Sequential verdict: stopped after" in (root / "report.html").read_text("utf-8")
    results = next((root / "trials").glob("*/results.jsonl"))
    before = results.read_bytes()

    again = evalcli("resume", "seq", "--runs-dir", runs)
    assert again.returncode == 0, again.stderr
    assert "stopped at its verdict" in again.stdout and "--continue-past-verdict" in again.stdout
    assert len(again.stdout.strip().splitlines()) == 1
    assert results.read_bytes() == before

    onward = evalcli("resume", "seq", "--runs-dir", runs, "--continue-past-verdict")
    assert onward.returncode == 0, onward.stderr
    manifest = _manifest(root)
    [trial] = manifest["trials"].values()
    assert trial["done"] == 292 and trial["skipped"] == trial["pending"] == 0
    assert manifest["stopping"]["stopped_early"] is False
    assert manifest["stopping"]["continued_past"]["decision"] == "difference"
    rows = read_csv(trial_dirs(root)[0] / "predictions.csv")
    assert {r["status"] for r in rows} == {"ok"}


def test_equal_arms_never_declare_a_difference(tmp_path):
    profile = _profile(tmp_path / "p.toml", {"control": 0.6, "treatment": 0.6},
                       {"block_size": 10, "min_items": 20, "max_items": 60, "margin": 0.3})
    runs, root = tmp_path / "runs", tmp_path / "runs" / "eq"
    result = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "eq")
    assert result.returncode == 0, result.stderr
    stopping = _manifest(root)["stopping"]
    assert stopping["look"]["decision"] in ("equivalence", "maximum")
    assert stopping["look"]["of_items"] == 60
    word = "equivalent within" if stopping["look"]["decision"] == "equivalence" \
        else "no verdict within the maximum"
    assert word in (root / "report.md").read_text(encoding="utf-8")


def test_a_fixed_n_run_records_no_stopping(tmp_path):
    profile = _profile(tmp_path / "p.toml", {"control": 0.3, "treatment": 0.9}, None)
    runs, root = tmp_path / "runs", tmp_path / "runs" / "fixed"
    result = evalcli("run", "--profile", profile, "--limit-items", "5", "--runs-dir", runs,
                     "--run-id", "fixed")
    assert result.returncode == 0, result.stderr
    manifest = _manifest(root)
    assert "stopping" not in manifest and "sequential" not in result.stdout
    [trial] = manifest["trials"].values()
    assert trial["done"] == trial["planned"] and trial["skipped"] == 0
