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


def _run_until_decision(monitor, right) -> list:
    looks = []
    for unit in monitor.plan.units:
        _answer(monitor, unit, right(unit))
        look = monitor.look()
        if look is not None and (not looks or looks[-1].blocks != look.blocks):
            looks.append(look)
            if look.decision:
                break
    return looks


def test_group_sequential_compares_z_with_the_boundary_of_each_look():
    from evalcli.science.stats.group_sequential import boundaries

    stopping = StoppingConfig(design="group-sequential", block_size=20, min_items=40,
                              max_items=160)
    monitor = _monitor(stopping)
    # treatment right on every item, control on every third: a large difference
    looks = _run_until_decision(monitor, lambda u: u.condition == "treatment"
                                or u.item_index % 3 == 0)
    first_look = looks[1]  # 20 items: before min_items, no look yet
    assert looks[0].look_number is None and looks[0].decision is None
    expected = boundaries([40 / 160], spending="power", rho=1.5)[0]
    assert first_look.items == 40 and first_look.look_number == 1
    assert first_look.bound == pytest.approx(expected)
    assert first_look.decision == "difference" and abs(first_look.z) >= first_look.bound
    assert first_look.lo > 0 and first_look.direction == "treatment better"
    assert "repeated CI" in progress_line(first_look, "em")
    assert first_look.record().look_number == 1
    # a stop at the first look: the median-unbiased estimate is the plain mean
    assert first_look.adjusted == pytest.approx(first_look.estimate, rel=1e-4)
    assert first_look.record().adjusted_estimate == pytest.approx(first_look.adjusted)
    assert looks[0].adjusted is None  # computed only where the run ends


def test_group_sequential_without_a_difference_ends_at_the_maximum_spending_all_alpha():
    from evalcli.science.stats.group_sequential import boundaries

    stopping = StoppingConfig(design="group-sequential", spending="obrien-fleming",
                              block_size=20, min_items=40, max_items=100, margin=0.0)
    monitor = _monitor(stopping)
    looks = _run_until_decision(monitor, lambda u: u.item_index % 2 == 0)  # same in both arms
    last = looks[-1]
    assert [x.look_number for x in looks] == [None, 1, 2, 3, 4]
    assert last.decision == "maximum" and last.items == 100 and last.z == 0
    assert last.adjusted == pytest.approx(0.0, abs=1e-3)
    fractions = [0.4, 0.6, 0.8, 1.0]
    assert last.bound == pytest.approx(boundaries(fractions, spending="obrien-fleming")[-1])


def test_the_schedule_before_the_first_unit_says_what_each_look_means():
    from evalcli.run.planning import schedule_lines

    stopping = StoppingConfig(design="group-sequential", block_size=20, min_items=40,
                              max_items=200)
    monitor = _monitor(stopping)
    lines = schedule_lines(monitor.plan, stopping)
    assert "planned maximum 200 items, 9 looks" in lines[0]
    assert lines[1].startswith("  look 1: 40 items, bound |z| >= ")
    assert lines[9].startswith("  look 9: 200 items")
    assert any("a true 10-point difference: power" in line for line in lines)
    anytime = schedule_lines(monitor.plan, StoppingConfig(max_items=200))
    assert "anytime-valid" in anytime[0] and "planned maximum 200 items" in anytime[0]
    assert anytime[1].startswith("  look 1: 40 items — about a ") and len(anytime) == 10
    widths = [float(line.split("about a ")[1].split("-point")[0]) for line in anytime[1:]]
    assert widths == sorted(widths, reverse=True)  # later looks need smaller differences
