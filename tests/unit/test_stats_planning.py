"""Planning before a run: the MDE and items it predicts are the report's own calculation,
and that calculation is the power of the verdict rule, checked here by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from evalcli.science.stats.planning import ASSUMED, Spread, plan_metric, spread_from_power
from evalcli.science.stats.power import rule_power_summary
from evalcli.science.stats.proportions import tango_limits


def _pilot(d: np.ndarray, source: str = "pilot") -> Spread:
    p = rule_power_summary(d)
    return spread_from_power("em", p["discordance"], p["jump"], d.size, p["n_effective"],
                             source)


@pytest.mark.parametrize("kind", ["binary", "partial"])
def test_a_pilot_that_is_the_run_predicts_the_reports_mde_and_items_exactly(kind):
    rng = np.random.default_rng(4)
    if kind == "binary":
        d = rng.choice([-1.0, 0.0, 1.0], size=146, p=[0.08, 0.8, 0.12])
    else:
        d = np.round(rng.choice([-1.0, 0.0, 1.0], size=146, p=[0.1, 0.7, 0.2])
                     * rng.uniform(0.2, 1.0, size=146), 2)
    report = rule_power_summary(d)
    planned = plan_metric(_pilot(d), d.size, difference=0.10)
    assert planned.mde == pytest.approx(report["mde"], rel=1e-12)
    assert planned.items_needed == report["items_required"]["0.100"]


def test_a_smaller_pilot_predicts_the_full_runs_mde_within_20_percent():
    rng = np.random.default_rng(12)
    full = rng.choice([-1.0, 0.0, 1.0], size=400, p=[0.1, 0.72, 0.18])
    pilot = full[:80]  # the first fifth of the same items
    predicted = plan_metric(_pilot(pilot), full.size, difference=0.10).mde
    assert predicted == pytest.approx(rule_power_summary(full)["mde"], rel=0.20)


def _rule_rejects(b: np.ndarray, c: np.ndarray, n: int, alpha: float = 0.05) -> np.ndarray:
    """The report's verdict rule on paired 0/1 tables: Tango's headline interval (with its
    continuity shift) excludes 0 and the exact sign-flip (McNemar) p < α."""
    a = np.zeros_like(b, dtype=float)
    dd = n - b - c
    lo, hi = tango_limits(a, b, c, dd, 1 - alpha)
    m = b + c
    p = np.minimum(1.0, 2 * st.binom.cdf(np.minimum(b, c), np.maximum(m, 1), 0.5))
    p = np.where(m == 0, 1.0, p)
    return ((lo > 0) | (hi < 0)) & (p < alpha)


@pytest.mark.parametrize(("n", "discordance"), [(60, 0.2), (146, 0.3), (300, 0.15)])
def test_the_planned_mde_is_detected_with_the_planned_power_in_simulation(n, discordance):
    spread = Spread("em", discordance)
    mde = plan_metric(spread, n, difference=0.1, power=0.8).mde
    D = max(discordance, mde)
    rng = np.random.default_rng(n)
    cells = rng.multinomial(n, [(D + mde) / 2, (D - mde) / 2, 1 - D], size=5000)
    rate = _rule_rejects(cells[:, 0].astype(float), cells[:, 1].astype(float), n).mean()
    assert rate == pytest.approx(0.80, abs=0.03)  # ±5 Monte Carlo SE
    # and a difference 30% smaller is detected clearly less often
    small = 0.7 * mde
    cells = rng.multinomial(n, [(D + small) / 2, (D - small) / 2, 1 - D], size=5000)
    assert _rule_rejects(cells[:, 0].astype(float), cells[:, 1].astype(float), n).mean() < 0.7


def test_without_a_pilot_the_numbers_are_labelled_as_assumptions():
    for metric, spread in ASSUMED.items():
        assert spread.metric == metric and spread.source.startswith("assumed:")
    planned = plan_metric(ASSUMED["em"], 146, difference=0.10)
    assert planned.design is not None and planned.design.n_max < 1.25 * planned.items_needed
    assert planned.design.expected_items < planned.items_needed


def test_no_spread_or_a_bad_difference_is_refused():
    assert spread_from_power("em", 0.0, 1.0, 100, 100.0, "pilot") is None
    assert spread_from_power("em", None, None, 100, None, "pilot") is None
    with pytest.raises(ValueError, match="difference"):
        plan_metric(ASSUMED["em"], 100, difference=0.0)
