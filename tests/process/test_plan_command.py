"""`evalcli plan` and the design shown before a sequential run: real CLI, mock engine."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from tests.helpers import evalcli, trial_dirs


def _profile(path: Path, stopping: dict | None = None) -> Path:
    profile = {
        "description": "plan test",
        "engine": {"name": "mock", "workers": 1,
                   "options": {"abstain_rate": 0.0,
                               "accuracy_by_condition": {"control": 0.5, "treatment": 0.7}}},
        "sampling": {"temperatures": [0.0], "samples_per_item": 1},
        "datasets": [{"format": "sample"}],
        "prompts": {"set": "default"},
        **({"stopping": stopping} if stopping is not None else {}),
    }
    path.write_bytes(msgspec.toml.encode(profile))
    return path


def test_plan_from_a_pilot_states_the_reports_mde_and_without_one_says_assumed(tmp_path):
    profile, runs = _profile(tmp_path / "p.toml"), tmp_path / "runs"
    done = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "pilot",
                   "--limit-items", "30")
    assert done.returncode == 0, done.stderr
    [trial] = trial_dirs(runs / "pilot")
    sig = json.loads((trial / "significance.json").read_text(encoding="utf-8"))
    overall = [c for c in sig["comparisons"] if c["dataset"] == "all"]
    result = evalcli("plan", "--profile", profile, "--pilot", "pilot", "--runs-dir", runs,
                     "--limit-items", "30", "--difference", "10")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ASSUMED" not in out and "[pilot pilot:" in out
    for comp in overall:  # the same items as the pilot: its MDE is the report's, exactly
        mde = comp["metrics"]["em"]["power"]["mde"]
        if mde is not None:
            assert (f"fixed design: MDE at {comp['n_items']} items = {100 * mde:.1f} points"
                    in out), (comp["type"], out)
    assert "group-sequential: planned maximum" in out
    assumed = evalcli("plan", "--profile", profile, "--runs-dir", runs)
    assert assumed.returncode == 0, assumed.stderr
    assert "ASSUMED" in assumed.stdout and "[assumed: 25% of items change EM" in assumed.stdout


def test_bad_plan_input_is_one_line(tmp_path):
    profile = _profile(tmp_path / "p.toml")
    for args, words in ((["--difference", "0"], "--difference 0"),
                        (["--power", "1.5"], "--power 1.5"),
                        (["--pilot", "nope"], "no run 'nope'")):
        result = evalcli("plan", "--profile", profile, "--runs-dir", tmp_path / "runs", *args)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], lines


def test_a_group_sequential_run_shows_its_looks_first_and_records_its_design(tmp_path):
    profile = _profile(tmp_path / "p.toml", {"design": "group-sequential", "block_size": 20,
                                             "min_items": 40, "max_items": 120})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "gs")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first_progress = out.find("[sequential]")
    schedule = out.find("planned maximum 120 items, 5 looks")
    assert 0 <= schedule and (first_progress == -1 or schedule < first_progress)
    assert "look 1: 40 items, bound |z| >= " in out and "look 5: 120 items" in out
    stopping = json.loads((runs / "gs" / "run.json").read_text(encoding="utf-8"))["stopping"]
    assert stopping["design"] == "group-sequential" and stopping["spending"] == "power 1.5"
    assert stopping["look"]["look_number"] >= 1 and stopping["look"]["bound"] > 1.9
    report = (runs / "gs" / "report.md").read_text(encoding="utf-8")
    assert "repeated 95% CI" in report and "group-sequential with power 1.5" in report
    assert "median-unbiased estimate" in report
    assert stopping["look"]["adjusted_estimate"] is not None


def test_until_verdict_on_the_demo_profile_compares_its_own_arms_and_shows_the_looks(tmp_path):
    result = evalcli("run", "--profile", "local-llamacpp", "--dry-run", "--until-verdict",
                     "--limit-items", "60", "--runs-dir", tmp_path / "runs", "--run-id", "u")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "planned maximum 60 items" in out and "look 1: 40 items — about a" in out
    assert out.find("look 1: 40 items") < out.find("[sequential]")
    assert "examples - control" in out  # the demo's arms, not the literal default names
