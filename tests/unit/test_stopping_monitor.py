"""The stopping monitor: complete blocks only, scored as the report scores, decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalcli.errors import ConfigError
from evalcli.inputs.config import SamplingConfig, ScoringConfig, StoppingConfig
from evalcli.inputs.items import Item
from evalcli.inputs.prompts import load_prompt_set
from evalcli.run.plan import Plan
from evalcli.run.stopping import StoppingMonitor, progress_line

ITEMS = [Item(dataset="d", item_id=f"i{k}", type="closed", question=f"Q{k}?",
              answers=[f"gold{k}"]) for k in range(200)]


def _monitor(stopping: StoppingConfig, **sampling) -> StoppingMonitor:
    prompts = load_prompt_set("default", Path.cwd())
    plan = Plan(items=ITEMS, prompt_sets=[("default", prompts.sha256, prompts.prompts)],
                engine_identity={"engine": "mock"}, model_label="m",
                sampling=SamplingConfig(**sampling), seed=5, stopping=stopping)
    return StoppingMonitor(plan, stopping, ScoringConfig())


def _answer(monitor, unit, right: bool) -> None:
    item = monitor.plan.items[unit.item_index]
    monitor.record(unit.custom_id, "ok", item.answers[0] if right else "wrong guess")


def test_treatment_always_right_stops_for_difference_at_min_items():
    monitor = _monitor(StoppingConfig(block_size=10, min_items=30, max_items=150))
    decisions = []
    for unit in monitor.plan.units:
        _answer(monitor, unit, unit.condition == "treatment")
        look = monitor.look()
        if look is not None and (not decisions or decisions[-1][0] != look.blocks):
            decisions.append((look.blocks, look.decision))
    first = next(d for d in decisions if d[1])
    assert first == (3, "difference")
    look = monitor.look()
    assert look.direction == "treatment better" and look.lo > 0
    assert "treatment better" in progress_line(look, "em")


def test_an_incomplete_block_is_not_used():
    monitor = _monitor(StoppingConfig(block_size=10, min_items=10, max_items=50))
    block0 = [u for u in monitor.plan.units if u.block == 0]
    for unit in block0[:-1]:
        _answer(monitor, unit, True)
    assert monitor.look() is None
    _answer(monitor, block0[-1], True)
    assert monitor.look().items == 10


def test_undecided_arms_reach_the_maximum_and_failed_pairs_are_dropped():
    monitor = _monitor(StoppingConfig(block_size=20, min_items=20, max_items=60, margin=0.01))
    for k, unit in enumerate(monitor.plan.units):
        if unit.item_index == monitor.plan.order[0] and unit.condition == "control":
            monitor.record(unit.custom_id, "failed")
        else:
            _answer(monitor, unit, k % 3 == 0)
    look = monitor.look()
    assert look.decision == "maximum" and look.items == 59 and look.dropped == 1


def test_a_sweep_or_unknown_arm_is_refused():
    with pytest.raises(ConfigError, match="one trial"):
        _monitor(StoppingConfig(), temperatures=[0.0, 0.7])
    with pytest.raises(ConfigError, match="stopping.arms"):
        _monitor(StoppingConfig(arms=["control", "bold"]))
