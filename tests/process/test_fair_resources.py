"""Resource comparisons that are fair (issue 25): two arms with identical prompts, and a busy
neighbour that starts half-way through the run — in the fully grouped order exactly when the
treatment arm begins — made deterministic with the mock engine's `busy_after` (every unit
from then on takes 4x as long). With the arms in ABBA blocks the report's paired latency
difference has an interval that contains 0; fully grouped, there is no interval at all
(time and arm cannot be told apart), where comparing the arms' means said "+60 ms a unit"."""

from __future__ import annotations

import json

import pytest

from tests.helpers import evalcli, trial_dirs, write_profile

ITEMS = 20  # 40 units, the neighbour from the 21st on


def _prompts(tmp_path):
    # the same words (the mock counts words as tokens) but one character apart: byte-identical
    # system prompts would be one request, run once and shared by both arms
    path = tmp_path / "same.toml"
    system = "You are a helpful assistant. Answer the user's questions accurately"
    path.write_text(f'control = "control"\nabstain_phrase = "I don\'t know."\n[system]\n'
                    f'control = "{system}."\ntreatment = "{system}!"\n[instructions]\n'
                    'open = "Answer from the passage."\nclosed = "Answer briefly."\n',
                    encoding="utf-8")
    return path


def _run(tmp_path, block: int) -> tuple[dict, str]:
    profile = write_profile(tmp_path / f"p{block}.toml", workers=1, options={
        "latency_ms": 20.0, "busy_after": ITEMS, "busy_latency_ms": 80.0},
        run={"limit_items": ITEMS, "arm_block_items": block})
    text = profile.read_text(encoding="utf-8").replace('set = "default"',
                                                       f'set = "{_prompts(tmp_path).name}"')
    profile.write_text(text, encoding="utf-8")
    runs = tmp_path / f"runs{block}"
    proc = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "r",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (trial,) = trial_dirs(runs / "r")
    costs = json.loads((trial / "costs.json").read_text(encoding="utf-8"))
    return costs, (runs / "r" / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("block", [4])
def test_a_neighbour_during_one_arm_does_not_make_an_arm_difference(tmp_path, block):
    costs, report = _run(tmp_path, block)
    effects = costs["cost_effectiveness"]
    assert effects, "no comparison in costs.json"
    for effect in effects:
        latency = effect["paired"]["latency_s"]
        assert latency["method"] == "arm_block_t" and latency["clusters"] >= 2
        assert latency["low"] <= 0 <= latency["high"], latency
        assert effect["paired"]["prompt_tokens"]["mean"] == 0  # identical prompts
        for metric in effect["metrics"].values():
            assert metric["per_extra_second"] is None
            assert metric["per_1k_extra_prompt_tokens"] is None
    # the units of both arms did see the neighbour: it is there, spread over both
    assert "Paired comparison" in report and "95% CI" in report
    assert "not estimable" in report and "+2,000" not in report

    grouped, grouped_report = _run(tmp_path, 0)
    for effect in grouped["cost_effectiveness"]:
        latency = effect["paired"]["latency_s"]
        assert latency["low"] is None and "one arm block" in latency["reason"]
        assert latency["mean"] > 0.03  # the neighbour, all on the treatment
    assert "(no interval)" in grouped_report
