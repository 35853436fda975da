"""The distribution functions the statistics use, from scipy.special.

scipy.stats computes these same functions with scipy.special underneath, but importing it
costs more than half a second (its ~100 distribution classes, their docstrings parsed at
import), paid by every `evalcli run`, `resume`, `analyze` and `compare`. Each function here
gives the value scipy.stats gives (tests/unit/test_stats_dist.py checks them against it on
random and edge inputs): the normal, t, chi-squared and beta ones to the last bit, the
binomial CDF to within a few units in the last place.
"""

from __future__ import annotations

import numpy as np
from scipy import special as _sp

ArrayLike = float | np.ndarray


def norm_cdf(x: ArrayLike) -> ArrayLike:
    """Φ(x)."""
    return _sp.ndtr(x)  # type: ignore[no-any-return]


def norm_sf(x: ArrayLike) -> ArrayLike:
    """1 − Φ(x), without the cancellation of computing it so."""
    return _sp.ndtr(-np.asarray(x))  # type: ignore[no-any-return]


def norm_ppf(q: ArrayLike) -> ArrayLike:
    """Φ⁻¹(q)."""
    return _sp.ndtri(q)  # type: ignore[no-any-return]


def t_cdf(x: ArrayLike, df: ArrayLike) -> ArrayLike:
    """Student's t CDF with ``df`` degrees of freedom (df = inf: the normal)."""
    return _sp.stdtr(df, x)  # type: ignore[no-any-return]


def t_sf(x: ArrayLike, df: ArrayLike) -> ArrayLike:
    """Student's t upper tail, P(T > x)."""
    return _sp.stdtr(df, -np.asarray(x))  # type: ignore[no-any-return]


def t_ppf(q: ArrayLike, df: ArrayLike) -> ArrayLike:
    """Student's t quantile (−inf at q = 0, where scipy.special.stdtrit says +inf)."""
    out = np.where(np.asarray(q) == 0.0, -np.inf, _sp.stdtrit(df, q))
    return float(out) if out.ndim == 0 else out


def chi2_sf(x: ArrayLike, df: ArrayLike) -> ArrayLike:
    """The chi-squared upper tail, P(X > x)."""
    return _sp.chdtrc(df, x)  # type: ignore[no-any-return]


def beta_ppf(q: ArrayLike, a: ArrayLike, b: ArrayLike) -> ArrayLike:
    """The Beta(a, b) quantile."""
    return _sp.betaincinv(a, b, q)  # type: ignore[no-any-return]


def binom_cdf(k: ArrayLike, n: ArrayLike, p: float) -> ArrayLike:
    """P(X ≤ k) for X ~ Binomial(n, p): the regularised incomplete beta
    I_{1−p}(n − k, k + 1); 0 below k = 0 and 1 from k = n on (k is floored, as a count)."""
    k = np.floor(np.asarray(k, dtype=float))
    n = np.asarray(n, dtype=float)
    inside = (k >= 0) & (k < n)
    ks = np.where(inside, k, 0.0)
    ns = np.where(inside, n, 1.0)
    out = np.where(inside, _sp.betainc(ns - ks, ks + 1.0, 1.0 - p), np.where(k < 0, 0.0, 1.0))
    return float(out) if out.ndim == 0 else out


def binom_below(q: float, n: np.ndarray, p: float = 0.5) -> np.ndarray:
    """The largest j in [−1, n] with P(X ≤ j) < q, X ~ Binomial(n, p), for each n: the
    critical count of an exact binomial test (−1 when even P(X = 0) reaches q). Bisection on
    the CDF, so it is exact for the CDF above."""
    n = np.asarray(n, dtype=np.int64)
    lo = np.full(n.shape, -1, dtype=np.int64)  # cdf(lo) < q always (cdf(−1) = 0)
    hi = n.copy()  # cdf(n) = 1 ≥ q
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        below = np.asarray(binom_cdf(mid, n, p)) < q
        lo = np.where(open_ & below, mid, lo)
        hi = np.where(open_ & ~below, mid, hi)


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``a``, ties given the mean of the ranks they span (scipy.stats'
    rankdata, method="average")."""
    a = np.asarray(a).ravel()
    order = np.argsort(a, kind="mergesort")
    inverse = np.empty(a.size, dtype=np.intp)
    inverse[order] = np.arange(a.size, dtype=np.intp)
    s = a[order]
    new = np.r_[True, s[1:] != s[:-1]] if a.size else np.zeros(0, dtype=bool)
    group = np.cumsum(new)[inverse]  # 1-based group of each element, in the original order
    starts: np.ndarray = np.r_[np.nonzero(new)[0], a.size]  # each group's first position, then n
    ranks: np.ndarray = 0.5 * (starts[group] + starts[group - 1] + 1)
    return ranks
