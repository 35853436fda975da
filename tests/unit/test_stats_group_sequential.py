"""Group-sequential boundaries against published values, their error rate by simulation,
repeated CIs, and the planned design's power against a simulation of the run's test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalcli.science.stats.group_sequential import (
    KAPPA,
    boundaries,
    constant_boundary,
    crossing,
    repeated_interval,
    spent,
    z_statistic,
)
from evalcli.science.stats.gs_design import (
    fixed_items,
    looks_for,
    operating,
    operating_binary,
    plan_design,
)

FIVE = [0.2, 0.4, 0.6, 0.8, 1.0]


def test_classical_obrien_fleming_and_pocock_constants():
    # O'Brien & Fleming (1979) / Jennison & Turnbull (2000) Table 2.3: C_B(5, 0.05) = 2.040;
    # Pocock (1977) Table 2.1: C_P(5, 0.05) = 2.413
    obf = constant_boundary(FIVE, 0.05, shape="obrien-fleming")
    assert obf == pytest.approx([4.562, 3.226, 2.634, 2.281, 2.040], abs=2e-3)
    assert constant_boundary(FIVE, 0.05, shape="pocock") == pytest.approx([2.413] * 5, abs=2e-3)


def test_lan_demets_spending_boundaries_match_published_values():
    # Lan-DeMets O'Brien-Fleming-type, K = 5 equally spaced, two-sided 0.05 (gsDesign/ldbounds)
    assert boundaries(FIVE, spending="obrien-fleming") == pytest.approx(
        [4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)
    # Lan-DeMets Pocock-type
    assert boundaries(FIVE, spending="pocock") == pytest.approx(
        [2.438, 2.427, 2.410, 2.397, 2.386], abs=2e-3)


@pytest.mark.parametrize("kind", ["obrien-fleming", "pocock", "power"])
def test_each_look_spends_its_share_and_the_total_is_alpha(kind):
    t = [0.15, 0.3, 0.55, 0.7, 1.0]
    c = boundaries(t, spending=kind)
    per_look = crossing(t, c).sum(axis=1)
    expected = np.diff([0.0] + [spent(x, 0.05, kind) for x in t])
    assert per_look == pytest.approx(expected, abs=2e-5)
    assert per_look.sum() == pytest.approx(0.05, abs=1e-5)


def test_boundaries_hold_alpha_on_a_simulated_brownian_motion():
    """An independent check of the integration: Gaussian increments, 200,000 paths."""
    t = np.array([0.2, 0.35, 0.5, 0.75, 1.0])
    c = boundaries(t)
    rng = np.random.default_rng(7)
    steps = rng.normal(size=(200_000, t.size)) * np.sqrt(np.diff(np.r_[0.0, t]))
    z = np.cumsum(steps, axis=1) / np.sqrt(t)
    rate = float(np.mean((np.abs(z) >= c).any(axis=1)))
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 200_000)


def test_an_unknown_spending_function_or_bad_fractions_are_refused():
    with pytest.raises(ValueError, match="spending function"):
        boundaries(FIVE, spending="haybittle")
    with pytest.raises(ValueError, match="increase"):
        boundaries([0.5, 0.4, 1.0])


def test_repeated_interval_excludes_zero_exactly_when_z_crosses():
    rng = np.random.default_rng(3)
    for _ in range(300):
        d = rng.choice([-1.0, 0.0, 1.0], size=int(rng.integers(20, 120)), p=[0.1, 0.7, 0.2])
        c = float(rng.uniform(1.9, 3.5))
        lo, hi = repeated_interval(d, c)
        z = z_statistic(d)
        assert (abs(z) >= c) == (lo >= 0 or hi <= 0)
        assert lo <= d.mean() <= hi


def test_z_statistic_is_the_score_statistic():
    d = np.array([1.0, 1.0, -1.0, 0.0, 1.0, 0.5])
    assert z_statistic(d) == pytest.approx(d.sum() / math.sqrt(np.sum(d * d) + KAPPA))


def test_looks_are_block_ends_from_min_items_and_the_maximum():
    assert looks_for(100, 20, 40) == (40, 60, 80, 100)
    assert looks_for(95, 20, 30) == (40, 60, 80, 95)
    assert looks_for(30, 20, 40) == (30,)


def _simulate(design, delta, D, reps, seed):
    """The run's test on paired 0/1 data: z at each look against its boundary."""
    rng = np.random.default_rng(seed)
    b, c = (D + delta) / 2, (D - delta) / 2
    kind = rng.choice(3, size=(reps, design.n_max), p=[b, c, 1 - b - c])
    d = np.where(kind == 0, 1.0, np.where(kind == 1, -1.0, 0.0))
    idx = np.asarray(design.looks) - 1
    s, q = np.cumsum(d, axis=1)[:, idx], np.cumsum(d * d, axis=1)[:, idx]
    z = s / np.sqrt(q + KAPPA)
    cross = np.abs(z) >= np.asarray(design.bounds)
    first = np.where(cross.any(axis=1), np.argmax(cross, axis=1), len(idx) - 1)
    up = cross.any(axis=1) & (z[np.arange(reps), first] > 0)
    return float(up.mean()), float(np.asarray(design.looks)[first].mean())


def test_the_planned_design_has_its_power_and_expected_items_in_simulation():
    D, delta = 0.3, 0.10
    design = plan_design(delta, D, power=0.8, block=20, min_items=40)
    assert design is not None and design.power >= 0.8
    power, items = _simulate(design, delta, D, 6000, seed=11)
    assert abs(power - design.power) < 0.03  # ±5 MC SE
    assert items == pytest.approx(design.expected_items, rel=0.05)
    # what the design buys: fewer items on average than the fixed design of the same test
    assert design.expected_items < 0.85 * fixed_items(delta, D, power=0.8)
    assert design.n_max < 1.25 * fixed_items(delta, D, power=0.8)


def test_operating_under_no_difference_spends_alpha():
    design = operating(looks_for(200, 20, 40), 0.0, 0.3)
    assert sum(design.stop_probability) == pytest.approx(0.025, abs=5e-4)  # one side of 0.05


@pytest.mark.parametrize(("delta", "n_max"), [(0.0, 120), (0.2, 51)])
def test_the_exact_binary_operating_characteristics_match_a_simulation(delta, n_max):
    D = 0.244
    design = operating_binary(looks_for(n_max, 10, 20), delta, D)
    rate, items = _simulate(design, delta, D, 20000, seed=5)
    assert abs(rate - design.power) < 5 * math.sqrt(0.25 / 20000)
    assert items == pytest.approx(design.expected_items, rel=0.02)


def test_binary_planning_reaches_the_power_without_overshooting_it():
    D, delta = 0.244, 0.20
    exact = plan_design(delta, D, power=0.8, block=10, min_items=20, binary=True)
    normal = plan_design(delta, D, power=0.8, block=10, min_items=20)
    assert 0.8 <= exact.power < 0.82 and exact.n_max < normal.n_max


def test_the_exact_type_one_error_holds_over_the_whole_discordance_range():
    """The discordance D is a nuisance parameter: the planned 20-point design's exact type I
    error (the run's statistic on the lattice of discordant counts) stays at α for every D,
    not only the planned one. On the lattice it reaches 5.02% at D = 0.95 (almost every item
    changing between the arms); up to D = 0.9 it is below 5%."""
    design = plan_design(0.20, 0.244, power=0.8, block=10, min_items=20, binary=True)
    assert design is not None
    grid = [round(0.05 * k, 2) for k in range(1, 21)]
    err = {D: 2 * operating_binary(design.looks, 0.0, D).power for D in grid}
    assert max(err.values()) <= 0.0505
    assert max(e for D, e in err.items() if D <= 0.9) <= 0.05
    assert err[0.05] < 0.01  # few discordant pairs: conservative, as McNemar's test is


def test_the_median_unbiased_estimate_is_below_the_truth_half_the_time():
    """Brownian looks with drift θ: the stagewise median-unbiased θ̂ falls below θ in half
    of the experiments (whatever look each stopped at); the plain z/√t is pushed up by the
    stopping rule, and at a stop after the first look the adjusted estimate is the smaller."""
    from evalcli.science.stats.group_sequential import median_unbiased

    t = np.array([0.25, 0.5, 1.0])
    c = boundaries(t, spending="pocock")
    theta = 2.5
    rng = np.random.default_rng(21)
    steps = np.diff(np.r_[0.0, t])
    z = np.cumsum(rng.normal(size=(400, 3)) * np.sqrt(steps) + theta * steps, axis=1) / np.sqrt(t)
    cross = np.abs(z) >= c
    k = np.where(cross.any(axis=1), np.argmax(cross, axis=1), 2)
    est = np.array([median_unbiased(t[: j + 1], c[: j + 1], z[i, j]) for i, j in enumerate(k)])
    assert abs(float(np.mean(est < theta)) - 0.5) < 3 * math.sqrt(0.25 / 400)
    first, second = int(np.nonzero(k == 0)[0][0]), int(np.nonzero(k == 1)[0][0])
    # at the first look the stagewise ordering has nothing before it: no correction
    assert est[first] == pytest.approx(z[first, 0] / math.sqrt(t[0]), rel=1e-4)
    assert est[second] < z[second, 1] / math.sqrt(t[1])
    assert median_unbiased(t, c, -1.0) == pytest.approx(-median_unbiased(t, c, 1.0))
