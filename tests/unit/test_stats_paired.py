"""Mean paired difference: bootstrap, CLT, cluster-robust SE, degenerate sizes."""

import math

import numpy as np
import pytest
from scipy import stats

from evalcli.science.stats import cluster_robust_se, paired_difference


def _data(n=200, seed=1):
    rng = np.random.default_rng(seed)
    c = (rng.random(n) < 0.6).astype(float)
    t = np.where(rng.random(n) < 0.8, c, 1 - c)
    return c, t


def test_point_estimates_and_t_test_match_scipy():
    c, t = _data()
    r = paired_difference(c, t, n_boot=2000, seed=3)
    assert r["n"] == 200
    assert r["delta"] == pytest.approx(t.mean() - c.mean())
    assert r["control_mean"] == pytest.approx(c.mean())
    assert r["se"] == pytest.approx(stats.sem(t - c))
    ref = stats.ttest_rel(t, c)
    assert r["p_value"] == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (r["clt_low"], r["clt_high"]) == pytest.approx((ci.low, ci.high))
    assert r["correlation"] == pytest.approx(stats.pearsonr(c, t).statistic)
    assert r["se_method"] == "paired" and r["df"] == 199


def test_bootstrap_is_seeded_and_close_to_clt():
    c, t = _data(n=1000)
    a = paired_difference(c, t, n_boot=4000, seed=7)
    b = paired_difference(c, t, n_boot=4000, seed=7)
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])
    assert a["ci_low"] < a["delta"] < a["ci_high"]
    assert a["ci_low"] == pytest.approx(a["clt_low"], abs=0.01)
    assert a["ci_high"] == pytest.approx(a["clt_high"], abs=0.01)


def test_bootstrap_matches_scipy_percentile_bootstrap():
    c, t = _data(n=300, seed=4)
    d = t - c
    ref = stats.bootstrap((d,), np.mean, n_resamples=20000, method="percentile", random_state=0)
    r = paired_difference(c, t, n_boot=20000, seed=1)
    assert r["ci_low"] == pytest.approx(ref.confidence_interval.low, abs=0.006)
    assert r["ci_high"] == pytest.approx(ref.confidence_interval.high, abs=0.006)


def test_n0_and_n1_do_not_crash():
    r = paired_difference(np.array([]), np.array([]))
    assert r["n"] == 0 and math.isnan(r["delta"]) and math.isnan(r["ci_low"])
    r = paired_difference(np.array([0.0]), np.array([1.0]))
    assert r["delta"] == 1.0 and math.isnan(r["se"]) and math.isnan(r["clt_low"])
    assert math.isnan(r["ci_low"]) and math.isnan(r["p_value"])


def test_identical_arms():
    x = np.array([1.0, 0.0, 1.0, 1.0] * 3)
    r = paired_difference(x, x, n_boot=100)
    assert r["delta"] == 0.0 and r["se"] == 0.0 and r["p_value"] == 1.0
    assert r["ci_method"] == "tango_paired_score"
    assert r["ci_low"] < 0.0 < r["ci_high"]  # no spread is not certainty: never a point


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="length"):
        paired_difference(np.zeros(3), np.zeros(4))


def test_cluster_robust_se_hand_computed():
    d = np.array([1.0, 1.0, 0.0, 0.0, -1.0, 1.0])
    g = np.array(["a", "a", "b", "b", "c", "c"])
    # mean 1/3; cluster residual sums: a: 2-2/3=4/3, b: -2/3, c: -2/3
    # V = 3/2 * (16/9 + 4/9 + 4/9) / 36 = 3/2 * 24/9 / 36 = 1/9
    se, df = cluster_robust_se(d, g)
    assert se == pytest.approx(1 / 3) and df == 2
    # singleton clusters reduce to the paired SE
    se1, df1 = cluster_robust_se(d, np.arange(6))
    assert se1 == pytest.approx(stats.sem(d)) and df1 == 5


def test_clustered_paired_difference_uses_cluster_bootstrap():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 5)
    effect = rng.normal(0, 0.3, 40)[groups]  # strong within-cluster correlation
    c = rng.random(200)
    t = c + 0.05 + effect + rng.normal(0, 0.05, 200)
    flat = paired_difference(c, t, n_boot=2000)
    clus = paired_difference(c, t, n_boot=2000, clusters=groups)
    assert clus["se_method"] == "cluster_robust" and clus["n_clusters"] == 40
    assert clus["se"] > 1.8 * flat["se"]
    assert clus["ci_high"] - clus["ci_low"] > 1.8 * (flat["ci_high"] - flat["ci_low"])
