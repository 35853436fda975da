"""BH, TOST, selective risk/AURC, meta-analysis and power against references."""

import math

import numpy as np
import pytest
from scipy import stats

from evalcli.science.stats import (
    aurc,
    benjamini_hochberg,
    items_required,
    meta_analysis,
    minimum_detectable_effect,
    risk_coverage,
    tost,
)


def test_bh_matches_scipy_and_is_monotone():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 0.01, 5), rng.uniform(0, 1, 30)])
    q = np.array(benjamini_hochberg(p))
    assert q == pytest.approx(stats.false_discovery_control(p, method="bh"))
    assert np.all(q >= p)
    order = np.argsort(p)
    assert np.all(np.diff(q[order]) >= 0)


def test_bh_hand_computed_and_none():
    # m = 4 finite: scaled 0.04, 0.06 ... running min from the top
    q = benjamini_hochberg([0.01, None, 0.04, 0.03, 0.5, float("nan")])
    assert q[1] is None and q[5] is None
    assert q[0] == pytest.approx(0.04)
    assert q[2] == pytest.approx(0.04 * 4 / 3)
    assert q[3] == pytest.approx(0.04 * 4 / 3)  # scaled 0.03*4/2 = 0.06 > 0.0533 above it
    assert q[4] == pytest.approx(0.5)
    assert benjamini_hochberg([]) == []


def test_bh_old_defect_larger_p_never_gets_smaller_q():
    q = benjamini_hochberg([0.001, 0.02, 0.021, 0.9])
    assert q[0] <= q[1] <= q[2] <= q[3]


def test_tost_against_two_scipy_one_sided_t_tests():
    # differences outside [-1, 1] (not of scores in [0, 1]): the t reference
    rng = np.random.default_rng(4)
    d = rng.normal(0.005, 0.1, 300)
    d[0] = 1.5
    r = tost(d, 0.02)
    assert r["method"] == "t"
    lower = stats.ttest_1samp(d, -0.02, alternative="greater").pvalue
    upper = stats.ttest_1samp(d, 0.02, alternative="less").pvalue
    assert r["p_lower"] == pytest.approx(lower)
    assert r["p_upper"] == pytest.approx(upper)
    assert r["p_value"] == pytest.approx(max(lower, upper))
    ci = stats.ttest_1samp(d, 0).confidence_interval(0.90)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert r["ci_level"] == pytest.approx(0.90)
    assert r["equivalent"] == (ci.low > -0.02 and ci.high < 0.02)


def test_tost_not_equivalent_when_effect_is_large():
    d = np.random.default_rng(1).normal(0.1, 0.1, 200)
    assert tost(d, 0.02)["equivalent"] is False
    # ten identical pairs: Tango's score test, no claim within ±2 points (90% CI ±21 points)
    r = tost(np.zeros(10), 0.02)
    assert r["equivalent"] is False and r["method"] == "tango_score" and r["ci_high"] > 0.2
    # a thousand identical pairs do show equivalence within ±2 points
    assert tost(np.zeros(1000), 0.02)["equivalent"] is True
    # too few items: no test, and a note that says so
    r = tost(np.array([0.1, 0.0, 0.2]), 0.02)
    assert r["equivalent"] is None and r["method"] == "none" and "too few" in r["note"]
    with pytest.raises(ValueError):
        tost(d, 0)


def test_risk_coverage_hand_computed():
    # 4 items: abstain rates 0, 0, 0.5, 1; answered-right rates 1, 0, 0.5, 0
    pts = risk_coverage(np.array([0, 0, 0.5, 1]), np.array([1, 0, 0.5, 0]))
    assert [p["threshold"] for p in pts] == [0.0, 0.5, 1.0]
    assert pts[0]["coverage"] == pytest.approx(0.5) and pts[0]["risk"] == pytest.approx(0.5)
    assert pts[1]["coverage"] == pytest.approx(0.625)
    assert pts[1]["risk"] == pytest.approx(1 - 1.5 / 2.5)
    assert pts[2]["coverage"] == pytest.approx(0.625)
    area = 0.5 * 0.5 + 0.125 * (0.5 + 0.4) / 2 + 0
    assert aurc(pts) == pytest.approx(area)
    assert math.isnan(aurc([]))
    assert risk_coverage(np.ones(3), np.zeros(3)) == []


def test_meta_analysis_hand_computed():
    theta = np.array([0.10, 0.30, -0.05])
    se = np.array([0.05, 0.10, 0.08])
    r = meta_analysis(theta, se, ["a", "b", "c"])
    w = 1 / se**2
    fe = np.sum(w * theta) / np.sum(w)
    q = np.sum(w * (theta - fe) ** 2)
    tau2 = max(0, (q - 2) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (se**2 + tau2)
    re = np.sum(wr * theta) / np.sum(wr)
    assert r["fixed"]["delta"] == pytest.approx(fe)
    assert r["fixed"]["se"] == pytest.approx(1 / math.sqrt(w.sum()))
    h = r["heterogeneity"]
    assert h["Q"] == pytest.approx(q) and h["df"] == 2
    assert h["p_value"] == pytest.approx(stats.chi2.sf(q, 2))
    assert h["I2"] == pytest.approx(max(0, (q - 2) / q)) and h["tau2"] == pytest.approx(tau2)
    assert r["random"]["delta"] == pytest.approx(re)
    assert r["random"]["ci_high"] == pytest.approx(re + 1.959964 / math.sqrt(wr.sum()), rel=1e-6)


def test_meta_analysis_k1_and_exclusions():
    r = meta_analysis([0.1, 0.2], [0.05, 0.0], ["a", "b"])
    assert r["k"] == 1 and r["excluded"] == ["b"]
    assert r["heterogeneity"]["df"] == 0 and math.isnan(r["heterogeneity"]["p_value"])
    assert r["fixed"]["delta"] == pytest.approx(0.1) == r["random"]["delta"]
    assert meta_analysis([], [])["k"] == 0


def test_power_formulas():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert minimum_detectable_effect(0.01) == pytest.approx(z * 0.01)
    # iid: sd 0.5, n 100 -> se 0.05; items for delta 0.05 = (z*0.5/0.05)^2
    assert items_required(0.05, 100, 0.05) == math.ceil((z * 0.5 / 0.05) ** 2)
    assert items_required(float("nan"), 100, 0.05) is None
    # differences that never varied: neither an MDE of 0 nor "2 items suffice"
    assert math.isnan(minimum_detectable_effect(0.0))
    assert items_required(0.0, 100, 0.05) is None
