"""McNemar, Wilcoxon and the sign-flip test against scipy and hand-computed cases."""

import math

import numpy as np
import pytest
from scipy import stats

from evalcli.science.stats import mcnemar_exact, sign_flip_test, wilcoxon_signed_rank


def _pairs(b, c, same1=5, same0=3):
    ctrl = [0] * b + [1] * c + [1] * same1 + [0] * same0
    trt = [1] * b + [0] * c + [1] * same1 + [0] * same0
    return np.array(ctrl, float), np.array(trt, float)


def odds(p):
    return math.inf if p == 1 else p / (1 - p)


@pytest.mark.parametrize("b,c", [(7, 2), (0, 5), (12, 12), (30, 10)])
def test_mcnemar_matches_scipy_binomtest(b, c):
    r = mcnemar_exact(*_pairs(b, c))
    assert (r["b"], r["c"], r["n_discordant"]) == (b, c, b + c)
    ref = stats.binomtest(b, b + c, 0.5)
    assert r["p_value"] == pytest.approx(ref.pvalue)
    lo, hi = ref.proportion_ci(0.95, method="exact")
    assert r["or_ci_low"] == pytest.approx(odds(lo))
    assert r["or_ci_high"] == pytest.approx(odds(hi))
    assert r["odds_ratio"] == pytest.approx(b / c if c else math.inf)


def test_mcnemar_hand_computed_and_degenerate():
    # b=1, c=0: p = 2 * P(X <= 0 | n=1) = 1
    assert mcnemar_exact(*_pairs(1, 0))["p_value"] == 1.0
    # b=6, c=0: p = 2 / 64
    assert mcnemar_exact(*_pairs(6, 0))["p_value"] == pytest.approx(2 / 64)
    r = mcnemar_exact(*_pairs(0, 0))
    assert r["p_value"] == 1.0 and math.isnan(r["odds_ratio"])


@pytest.mark.parametrize(
    "d",
    [
        np.array([0.5, -1.2, 2.3, 3.1, 0.7, 1.9, -0.4, 2.8]),  # exact, no ties
        np.array([1.0, 1.0, -1.0, 2.0, 0.0, 1.0, 2.0, -2.0, 1.0]),  # ties+zero, n <= 13
        np.random.default_rng(0).normal(0.2, 1, 40),  # exact n <= 50
        np.random.default_rng(1).integers(-1, 2, 120).astype(float),  # ties: normal
        np.random.default_rng(2).normal(0.1, 1, 400),  # normal
    ],
)
def test_wilcoxon_matches_scipy(d):
    r = wilcoxon_signed_rank(d)
    ref = stats.wilcoxon(d, zero_method="wilcox", correction=False, method="auto")
    assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert min(r["w_plus"], r["w_minus"]) == pytest.approx(ref.statistic)


def test_wilcoxon_degenerate():
    assert wilcoxon_signed_rank(np.zeros(5))["p_value"] == 1.0
    assert math.isnan(wilcoxon_signed_rank(np.array([]))["p_value"])


def test_sign_flip_exact_enumeration_hand_computed():
    # d = [1, 2, 3]: |sum| = 6 is reached by signs +++ and --- : p = 2/8
    r = sign_flip_test(np.array([1.0, 2.0, 3.0]), n_perm=5000)
    assert r["method"] == "exact_enumeration" and r["p_value"] == pytest.approx(0.25)


def test_sign_flip_monte_carlo_matches_scipy_and_never_zero():
    rng = np.random.default_rng(5)
    d = rng.normal(0.15, 1.0, 80)
    r = sign_flip_test(d, n_perm=20000, seed=1)
    ref = stats.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=20000, random_state=2
    )
    assert r["p_value"] == pytest.approx(ref.pvalue, abs=0.01)
    strong = sign_flip_test(np.full(50, 1.0) + rng.normal(0, 0.1, 50), n_perm=999)
    assert strong["p_value"] == pytest.approx(1 / 1000)
    assert sign_flip_test(np.zeros(20))["p_value"] == 1.0


def test_sign_flip_clusters_flip_together():
    d = np.array([1.0, 1.0, 1.0, -1.0, 0.5, 0.5])
    g = np.array([0, 0, 0, 1, 2, 2])
    # cluster sums 3, -1, 1: |sum| = 3; enumeration over 8 sign vectors:
    # sums: 3,-5,5,-3 ... count |.| >= 3 -> {3,-3? } compute by brute force below
    sums = np.array([3.0, -1.0, 1.0])
    signs = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)])
    expected = np.mean(np.abs(signs @ sums) >= 3.0)
    assert sign_flip_test(d, clusters=g)["p_value"] == pytest.approx(expected)
