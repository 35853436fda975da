"""The anytime-valid confidence sequence and the stopping decision on scripted streams."""

from __future__ import annotations

import numpy as np
import pytest

from evalcli.science.stats.sequential import (
    confidence_sequence,
    decision_of,
    difference_grid,
    interval_from_rejected,
    rejected_at_looks,
)


def first_decision(d, *, block=10, margin=0.05, min_items=20, max_items=None):
    max_items = max_items or len(d)
    looks = list(range(block, len(d) + 1, block))
    for row in confidence_sequence(d, looks, margin=margin):
        verdict = decision_of(row["lo"], row["hi"], row["n"], margin=margin,
                              min_items=min_items, max_items=max_items)
        if verdict:
            return verdict, row
    return None, None


def test_grid_holds_zero_and_margins_exactly():
    grid = difference_grid(0.0337)
    assert {0.0, 0.0337, -0.0337} <= set(grid.tolist())
    assert grid[0] == -1.0 and grid[-1] == 1.0


def test_treatment_always_right_stops_for_difference_after_min_items():
    verdict, row = first_decision(np.ones(400), min_items=30)
    assert verdict == "difference"
    assert row["n"] == 30 and row["lo"] > 0.5


def test_control_better_stream_says_difference_with_negative_interval():
    rng = np.random.default_rng(3)
    d = rng.choice([-1.0, 0.0, 1.0], p=[0.4, 0.5, 0.1], size=600)
    verdict, row = first_decision(d)
    assert verdict == "difference" and row["hi"] <= 0 and row["n"] < 200


def test_no_difference_tight_stream_stops_for_equivalence():
    d = np.zeros(2000)
    d[::20] = 1.0
    d[10::20] = -1.0  # mean 0, 10% discordant
    verdict, row = first_decision(d, margin=0.05, block=20)
    assert verdict == "equivalence"
    assert -0.05 <= row["lo"] < 0 < row["hi"] <= 0.05


def test_balanced_noisy_stream_stops_at_the_maximum():
    d = np.tile([1.0, -1.0], 100)
    verdict, row = first_decision(d, margin=0.02, max_items=200)
    assert verdict == "maximum" and row["n"] == 200
    assert row["lo"] < 0 < row["hi"]


def test_min_items_holds_back_a_decision():
    assert decision_of(0.2, 0.6, 10, margin=0.05, min_items=40, max_items=100) is None
    assert decision_of(0.2, 0.6, 40, margin=0.05, min_items=40, max_items=100) == "difference"
    assert decision_of(-0.3, 0.3, 60, margin=0.05, min_items=40, max_items=100) is None


def test_interval_is_running_intersection_and_shrinks():
    rng = np.random.default_rng(5)
    d = rng.choice([-1.0, 0.0, 1.0], p=[0.15, 0.6, 0.25], size=500)
    rows = confidence_sequence(d, list(range(50, 501, 50)))
    widths = [r["hi"] - r["lo"] for r in rows]
    assert all(b <= a + 1e-12 for a, b in zip(widths, widths[1:], strict=False))
    assert rows[-1]["lo"] < 0.10 < rows[-1]["hi"]


def test_differences_outside_range_are_refused():
    with pytest.raises(ValueError):
        rejected_at_looks(np.array([1.5]), [1], difference_grid())


def test_type_one_error_held_under_continuous_monitoring():
    # 400 null experiments watched after every item: the sequence may exclude 0 at most
    # α of the time (Ville); a fixed-n test peeked at 200 times would exceed 30%.
    rng = np.random.default_rng(11)
    d = rng.choice([-1.0, 0.0, 1.0], p=[0.2, 0.6, 0.2], size=(400, 200))
    grid = np.array([-1.0, 0.0, 1.0])
    rejected = rejected_at_looks(d, list(range(1, 201)), grid)
    share = rejected[:, -1, 1].mean()
    assert share <= 0.05


def test_interval_from_rejected_widens_to_rejected_neighbours():
    grid = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    rej = np.array([[True, True, False, False, True]])
    lo, hi = interval_from_rejected(rej, grid)
    assert lo[0] == -0.5 and hi[0] == 1.0
