"""evalcli/science/stats/dist.py gives what scipy.stats gives (which it replaces at run time
to save the import): bit for bit for the normal, t, chi-squared and beta functions, within a
few ulp for the binomial CDF, exactly for the binomial critical counts and the ranks — on
random inputs and on the edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from evalcli.science.stats import dist

RNG = np.random.default_rng(20261207)


def test_normal_t_chi2_and_beta_are_scipy_stats_bit_for_bit():
    x = np.r_[RNG.normal(size=5000) * 6, 0.0, -0.0, 40.0, -40.0, np.inf, -np.inf]
    q = np.r_[RNG.uniform(size=5000), 0.0, 1.0, 0.5, 1e-300, 1 - 1e-16, 0.975]
    df = np.r_[RNG.uniform(0.5, 2000, size=5000), 1.0, 2.0, 3.0, np.inf, 30.0, 10.0]
    assert np.array_equal(dist.norm_cdf(x), st.norm.cdf(x))
    assert np.array_equal(dist.norm_sf(x), st.norm.sf(x))
    assert np.array_equal(dist.norm_ppf(q), st.norm.ppf(q), equal_nan=True)
    assert np.array_equal(dist.t_cdf(x, df), st.t.cdf(x, df))
    assert np.array_equal(dist.t_sf(x, df), st.t.sf(x, df))
    assert np.array_equal(dist.t_ppf(q, df), st.t.ppf(q, df), equal_nan=True)
    chi = np.abs(x[:5000]) * 10
    assert np.array_equal(dist.chi2_sf(chi, df[:5000]), st.chi2.sf(chi, df[:5000]))
    n = RNG.integers(2, 5000, size=5000)
    s = 1 + RNG.integers(0, 10**9, size=5000) % (n - 1)
    for a in (0.005, 0.025, 0.05, 0.95, 0.975, 0.995):
        assert np.array_equal(dist.beta_ppf(a, s, n - s + 1), st.beta.ppf(a, s, n - s + 1))
    assert isinstance(dist.t_ppf(0.975, 12), float)


def test_binomial_cdf_within_a_few_ulp_and_on_the_edges():
    n = RNG.integers(0, 6000, size=50000)
    k = RNG.integers(-3, 6003, size=50000)
    for p, rtol in ((0.5, 1e-14), (0.3, 1e-11), (0.91, 1e-11)):  # far tails: 1e-190 and less
        ours, theirs = dist.binom_cdf(k, n, p), st.binom.cdf(k, n, p)
        assert np.allclose(ours, theirs, rtol=rtol, atol=1e-280)
    assert dist.binom_cdf(0, 0, 0.5) == 1.0 and dist.binom_cdf(-1, 0, 0.5) == 0.0
    assert dist.binom_cdf(3, 3, 0.5) == 1.0 and dist.binom_cdf(2.7, 3, 0.5) == 0.875
    assert isinstance(dist.binom_cdf(4, 10, 0.5), float)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2])
def test_binomial_critical_counts_are_scipys_for_every_size(alpha):
    m = np.arange(0, 12000)
    j = st.binom.ppf(alpha / 2, m, 0.5).astype(np.int64)
    theirs = np.where(st.binom.cdf(j, m, 0.5) < alpha / 2, j, j - 1)
    assert np.array_equal(dist.binom_below(alpha / 2, m), theirs)


def test_ranks_are_scipys_average_ranks():
    for size in (0, 1, 2, 7, 100, 3000):
        for values in (RNG.normal(size=size), RNG.integers(0, 5, size=size).astype(float),
                       np.round(RNG.uniform(size=size), 2), np.zeros(size)):
            assert np.array_equal(dist.rankdata(values), st.rankdata(values))
