"""Simulation: the intervals cover the true value at about the nominal rate (seeded, < 10 s).

Monte Carlo SD of a coverage estimate from R replicates is √(0.95·0.05/R) ≈ 0.011 at
R = 400, so the bands below are about ±3 SD (and the seeds are fixed: no flakiness).
"""

import numpy as np
import pytest

from evalcli.science.stats import paired_difference, sign_flip_test, tost, wilson_interval


def _paired_binary(rng, n, p_c=0.55, p_t=0.65, rho_keep=0.6):
    """Correlated paired 0/1 outcomes with known mean difference p_t − p_c."""
    c = (rng.random(n) < p_c).astype(float)
    fresh = (rng.random(n) < p_t).astype(float)
    # keep the control outcome when it is compatible with the treatment marginal
    keep = rng.random(n) < rho_keep
    t = np.where(keep & (c == 1), 1.0, fresh)
    return c, t


def test_paired_bootstrap_and_clt_coverage():
    rng = np.random.default_rng(123)
    n, reps = 150, 400
    p_c, p_t, keep = 0.55, 0.65, 0.6
    # E[t] = P(keep & c) + P(not(keep & c))·p_t
    true = (keep * p_c + (1 - keep * p_c) * p_t) - p_c
    boot_hits = clt_hits = 0
    for r in range(reps):
        c, t = _paired_binary(rng, n, p_c, p_t, keep)
        res = paired_difference(c, t, n_boot=1000, seed=r)
        boot_hits += res["ci_low"] <= true <= res["ci_high"]
        clt_hits += res["clt_low"] <= true <= res["clt_high"]
    assert boot_hits / reps == pytest.approx(0.95, abs=0.035)
    assert clt_hits / reps == pytest.approx(0.95, abs=0.035)


def test_cluster_robust_coverage_where_the_naive_se_fails():
    rng = np.random.default_rng(7)
    g, m, reps = 40, 5, 400
    groups = np.repeat(np.arange(g), m)
    hits_cl = hits_naive = 0
    for _ in range(reps):
        shared = rng.normal(0, 0.3, g)[groups]  # passage-level effect on the delta
        d = 0.1 + shared + rng.normal(0, 0.2, g * m)
        c = rng.random(g * m)
        res = paired_difference(c, c + d, n_boot=0, clusters=groups)
        naive = paired_difference(c, c + d, n_boot=0)
        hits_cl += res["clt_low"] <= 0.1 <= res["clt_high"]
        hits_naive += naive["clt_low"] <= 0.1 <= naive["clt_high"]
    assert hits_cl / reps == pytest.approx(0.95, abs=0.035)
    assert hits_naive / reps < 0.85


@pytest.mark.parametrize("p,n", [(0.1, 40), (0.5, 25), (0.9, 200)])
def test_wilson_coverage(p, n):
    rng = np.random.default_rng(int(p * 100) + n)
    k = rng.binomial(n, p, 2000)
    hits = sum(lo <= p <= hi for lo, hi in (wilson_interval(x, n) for x in k))
    assert hits / 2000 == pytest.approx(0.95, abs=0.03)


def test_sign_flip_and_tost_error_rates_under_their_nulls():
    rng = np.random.default_rng(11)
    reps = 300
    flips = tosts = 0
    for r in range(reps):
        d = rng.choice([-1.0, 0.0, 0.0, 1.0], 120)  # symmetric: H0 of the sign-flip test
        flips += sign_flip_test(d, n_perm=400, seed=r)["p_value"] <= 0.05
        e = rng.normal(0.02, 0.1, 120)  # mean exactly at the margin: H0 of TOST
        tosts += bool(tost(e, 0.02)["equivalent"])
    assert flips / reps <= 0.05 + 0.035
    assert tosts / reps <= 0.05 + 0.035


def test_tango_headline_interval_covers_at_small_n():
    """The 0/1 headline interval at n = 10 and 20 (benchmarks/bench_coverage.py has the table)."""
    from benchmarks.bench_coverage import binary_cells
    from evalcli.science.stats.proportions import tango_limits

    rng = np.random.default_rng(5)
    for n, (p_c, p_t, rho), low, high in ((10, (0.5, 0.5, 0.0), 0.92, 1.0),
                                          (20, (0.6, 0.65, 0.5), 0.94, 0.97),
                                          (50, (0.7, 0.8, 0.3), 0.94, 0.97)):
        counts = rng.multinomial(n, binary_cells(p_c, p_t, rho), size=8000)
        lo, hi = tango_limits(*counts.T)
        hits = np.mean((lo <= p_t - p_c + 1e-12) & (p_t - p_c - 1e-12 <= hi))
        assert low <= hits <= high, (n, hits)
