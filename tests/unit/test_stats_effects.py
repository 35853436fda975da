"""Hodges–Lehmann (exact at any n), Cohen's d_z, Cliff's delta, against brute force."""

import math

import numpy as np
import pytest

from evalcli.science.stats import cliffs_delta, cohens_dz, hodges_lehmann
from evalcli.science.stats.effects import _walsh_select


def _walsh_median(d):
    d = np.asarray(d, float)
    i, j = np.triu_indices(d.size)
    return float(np.median((d[i] + d[j]) / 2))


def test_hodges_lehmann_hand_computed():
    # Walsh averages of [1, 2, 9]: 1, 1.5, 5, 2, 5.5, 9 -> median (2 + 5)/2
    assert hodges_lehmann(np.array([1.0, 2.0, 9.0])) == 3.5
    assert hodges_lehmann(np.array([4.0])) == 4.0
    assert math.isnan(hodges_lehmann(np.array([])))


@pytest.mark.parametrize("n", [2, 7, 64, 333, 1001])
@pytest.mark.parametrize("kind", ["normal", "ties", "thirds"])
def test_selection_algorithm_equals_enumeration(n, kind):
    rng = np.random.default_rng(n)
    d = {
        "normal": rng.normal(size=n),
        "ties": rng.integers(-2, 3, n) / 2.0,
        "thirds": rng.integers(0, 4, n) / 3 - rng.integers(0, 4, n) / 3,
    }[kind]
    assert _walsh_select(np.sort(d)) == _walsh_median(d)


def test_hodges_lehmann_large_n_is_not_the_median():
    rng = np.random.default_rng(3)
    d = np.concatenate([np.zeros(2500), rng.exponential(1.0, 2500)])
    hl = hodges_lehmann(d)
    assert hl != pytest.approx(float(np.median(d)))
    # brute force on this n would need 12.5 M sums: check by counting instead
    i = np.arange(d.size)
    s = np.sort(d)
    below = sum(int(np.searchsorted(s[k:], 2 * hl - s[k], side="left")) for k in i)
    above = sum(int(s.size - k - np.searchsorted(s[k:], 2 * hl - s[k], side="right")) for k in i)
    total = d.size * (d.size + 1) // 2
    assert below <= total / 2 and above <= total / 2


def test_cohens_dz():
    d = np.array([1.0, 2.0, 3.0, 6.0])
    assert cohens_dz(d) == pytest.approx(3.0 / np.std(d, ddof=1))
    assert math.isnan(cohens_dz(np.ones(5)))
    assert math.isnan(cohens_dz(np.array([1.0])))


def test_cliffs_delta_brute_force():
    rng = np.random.default_rng(0)
    c = rng.integers(0, 5, 60) / 4
    t = rng.integers(0, 5, 45) / 4
    diff = t[:, None] - c[None, :]
    expected = (np.sum(diff > 0) - np.sum(diff < 0)) / diff.size
    assert cliffs_delta(c, t) == pytest.approx(expected)
    assert cliffs_delta(np.zeros(3), np.ones(3)) == 1.0
    assert math.isnan(cliffs_delta(np.array([]), np.ones(2)))
