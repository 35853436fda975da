"""Tango's paired score interval: published values, limits, never a point; how
paired_difference picks its headline interval."""

import numpy as np
import pytest

from evalcli.science.stats import paired_difference
from evalcli.science.stats.proportions import paired_proportion_interval, tango_paired
from evalcli.science.stats.scaled import scaled_interval


def test_published_worked_example():
    # Fagerland, Lydersen & Laake (2017), ch. 8: Cavo et al. (2012), a=59, b=6, c=16, d=80
    theta, lo, hi = tango_paired(59, 6, 16, 80)
    assert theta == pytest.approx(-0.0621, abs=5e-5)
    assert (lo, hi) == pytest.approx((-0.1240, -0.0054), abs=5e-5)


def test_all_one_way_is_an_interval_not_a_point():
    theta, lo, hi = tango_paired(0, 6, 0, 0)  # 6 items, every one favours the treatment
    assert theta == 1.0 and hi == 1.0 and 0.0 < lo < 0.5
    theta, lo, hi = tango_paired(3, 0, 0, 3)  # identical arms
    assert theta == 0.0 and lo == pytest.approx(-hi) and hi > 0.3


def test_limits_are_monotone_in_the_discordant_counts():
    _, lo, hi = tango_paired(10, np.arange(0, 10), 3, 10)
    assert np.all(np.diff(lo) > 0) and np.all(np.diff(hi) > 0)
    assert np.all(lo >= -1) and np.all(hi <= 1)


def test_paired_difference_uses_tango_for_0_1_and_scaled_tango_otherwise():
    c = np.zeros(10)
    t = np.ones(10)
    r = paired_difference(c, t, n_boot=0)
    assert r["ci_method"] == "tango_paired_score" and r["ci_high"] == 1.0 and r["ci_low"] > 0.4
    rng = np.random.default_rng(1)
    c, t = rng.random(30), rng.random(30)
    r = paired_difference(c, t, n_boot=0)
    assert r["ci_method"] == "tango_scaled_score" and r["ci_note"] is None
    # for dense partial scores it is close to the t interval
    assert r["ci_low"] == pytest.approx(r["clt_low"], abs=0.03)
    assert r["ci_high"] == pytest.approx(r["clt_high"], abs=0.03)
    # values outside [0, 1]: the t interval, named as such
    r = paired_difference(3 * c, 3 * t, n_boot=0)
    assert r["ci_method"] == "paired_t" and (r["ci_low"], r["ci_high"]) == (r["clt_low"],
                                                                          r["clt_high"])


def test_scaled_tango_is_tango_on_0_1_data():
    rng = np.random.default_rng(3)
    c = (rng.random(60) < 0.6).astype(float)
    t = np.where(rng.random(60) < 0.8, c, 1 - c)
    assert scaled_interval(t - c) == pytest.approx(paired_proportion_interval(c, t), abs=1e-12)


def test_clustered_0_1_widens_by_the_design_effect():
    c = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0] * 3, dtype=float)
    t = np.array([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1] * 3, dtype=float)
    groups = np.repeat(np.arange(18), 2)  # pairs of items share the same outcomes
    flat = paired_difference(c, t, n_boot=0)
    clus = paired_difference(c, t, n_boot=0, clusters=groups)
    assert clus["ci_method"] == "tango_paired_score_deff" and clus["design_effect"] > 1.5
    assert clus["ci_high"] - clus["ci_low"] > 1.2 * (flat["ci_high"] - flat["ci_low"])
    assert (clus["ci_low"], clus["ci_high"]) == pytest.approx(paired_proportion_interval(
        c, t, design_effect=clus["design_effect"], continuity=0.0))


def test_continuous_without_spread_falls_back_to_a_real_interval():
    c = np.full(10, 0.25)
    t = np.full(10, 0.75)  # every d_i = 0.5: the t interval would be a point
    r = paired_difference(c, t, n_boot=0)
    assert r["ci_method"] == "tango_scaled_score"  # the label names what was computed
    assert r["clt_low"] == r["clt_high"] == 0.5
    assert r["ci_low"] < 0.5 < r["ci_high"]
