"""One-arm intervals against scipy and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats

from evalcli.science.stats import (
    clopper_pearson_interval,
    mean_interval,
    t_interval,
    wilson_interval,
)


def test_wilson_hand_computed():
    # 8/10 at 95%: the textbook value (Newcombe 1998, method 3) is 0.4902 – 0.9433
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (3, 17), (150, 300)])
def test_wilson_matches_scipy(k, n):
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
    assert wilson_interval(k, n, 0.9) == pytest.approx((ref.low, ref.high), abs=1e-12)


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (3, 17)])
def test_clopper_pearson_matches_scipy(k, n):
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson_interval(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_empty_inputs_are_nan():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    assert all(math.isnan(x) for x in mean_interval(np.array([])))
    m, lo, hi = t_interval(np.array([0.3]))
    assert m == 0.3 and math.isnan(lo) and math.isnan(hi)


def test_mean_interval_uses_wilson_for_binary_and_t_otherwise():
    binary = np.array([1, 0, 1, 1, 0, 1, 1, 1, 1, 1], dtype=float)
    assert mean_interval(binary) == pytest.approx((0.8, *wilson_interval(8, 10)))
    x = np.array([0.1, 0.5, 0.7, 1.0, 0.0, 0.25])
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean_interval(x) == pytest.approx((x.mean(), *ref))


def test_t_interval_of_scores_in_0_1_is_cut_to_0_1_and_others_are_not():
    f1 = np.array([1.0, 0.0, 0.5, 1.0, 0.0])  # few, spread: the raw t interval leaves [0, 1]
    raw = stats.t.interval(0.95, len(f1) - 1, loc=f1.mean(), scale=stats.sem(f1))
    assert raw[0] < 0.0 and raw[1] > 1.0
    assert mean_interval(f1) == pytest.approx((0.5, 0.0, 1.0))
    narrow = np.array([0.4, 0.5, 0.6, 0.5])  # inside [0, 1] already: untouched
    ref = stats.t.interval(0.95, 3, loc=0.5, scale=stats.sem(narrow))
    assert mean_interval(narrow) == pytest.approx((0.5, *ref))
    counts = np.array([12.0, -3.0, 40.0, 7.0])  # not scores: never cut
    ref = stats.t.interval(0.95, 3, loc=counts.mean(), scale=stats.sem(counts))
    assert mean_interval(counts) == pytest.approx((counts.mean(), *ref))
