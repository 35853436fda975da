"""Effect sizes: Hodges–Lehmann (exact at any n), paired Cohen's d_z, Cliff's delta.

Hodges–Lehmann is the median of the n(n+1)/2 Walsh averages (d_i + d_j)/2, i ≤ j. Small n
enumerate them; large n select the k-th smallest pair sum without materialising the
pairs (count-below-x in O(n log n) with searchsorted, then bisection plus a step to the
next attained value), so the estimate is exact for every n — never the plain median.
"""

from __future__ import annotations

import numpy as np

from evalcli.science.stats.intervals import NAN

_BRUTE_FORCE_N = 1500  # n(n+1)/2 ≈ 1.1 M pair sums: enumerate


def _walsh_brute(s: np.ndarray) -> float:
    iu = np.triu_indices(s.size)
    sums = s[iu[0]] + s[iu[1]]
    return float(np.median(sums)) / 2.0


def _prefix_le(s: np.ndarray, x: float) -> np.ndarray:
    """For every i, #{j : fl(s_i + s_j) ≤ x} (s sorted), exact in floating point.

    searchsorted on x − s_i is right up to rounding; the boundary is then found by a
    vectorised binary search inside a window a few ulps wide around it.
    """
    tol = 8.0 * np.finfo(float).eps * (abs(x) + 2.0 * float(np.max(np.abs(s))))
    lo = np.searchsorted(s, (x - s) - tol, side="left")
    hi = np.searchsorted(s, (x - s) + tol, side="right")
    active = np.nonzero(lo < hi)[0]
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        le = s[active] + s[mid] <= x
        lo[active[le]] = mid[le] + 1
        hi[active[~le]] = mid[~le]
        active = active[lo[active] < hi[active]]
    return lo


def _count_le(s: np.ndarray, x: float) -> int:
    """#{(i, j) : i ≤ j, s_i + s_j ≤ x}."""
    pos = _prefix_le(s, x)
    return int(np.maximum(pos - np.arange(s.size), 0).sum())


def _next_sum_above(s: np.ndarray, lo: float) -> float:
    """The smallest pair sum s_i + s_j (i ≤ j) strictly greater than ``lo``."""
    n = s.size
    j0 = np.maximum(_prefix_le(s, lo), np.arange(n))
    ok = j0 < n
    return float(np.min(s[ok] + s[j0[ok]]))


def kth_pair_sum(s: np.ndarray, k: int) -> float:
    """The k-th smallest (1-based) of the pair sums s_i + s_j, i ≤ j, of sorted ``s``."""
    lo = None
    hi = float(s[-1] + s[-1])
    while True:
        m = float(s[0] + s[0]) if lo is None else _next_sum_above(s, lo)
        if _count_le(s, m) >= k:
            return m
        lo = m
        mid = lo + (hi - lo) / 2.0
        if lo < mid < hi:
            if _count_le(s, mid) >= k:
                hi = mid
            else:
                lo = mid


def _walsh_select(s: np.ndarray) -> float:
    n = s.size
    total = n * (n + 1) // 2
    if total % 2:
        return kth_pair_sum(s, (total + 1) // 2) / 2.0
    return (kth_pair_sum(s, total // 2) + kth_pair_sum(s, total // 2 + 1)) / 4.0


def hodges_lehmann(d: np.ndarray) -> float:
    """One-sample Hodges–Lehmann estimate: median of Walsh averages (d_i + d_j)/2, i ≤ j
    (Hodges & Lehmann 1963; Hollander & Wolfe, Nonparametric Statistical Methods §3.2).
    Exact at every n. NaN for an empty array."""
    s = np.sort(np.asarray(d, dtype=float).ravel())
    if s.size == 0:
        return NAN
    if s.size <= _BRUTE_FORCE_N:
        return _walsh_brute(s)
    return _walsh_select(s)


def cohens_dz(d: np.ndarray) -> float:
    """Paired Cohen's d_z = mean(d) / sd(d) with sd the sample SD (ddof = 1) (Cohen 1988,
    §2.3.5). NaN when n < 2 or sd = 0 (the ratio is undefined, not 0)."""
    d = np.asarray(d, dtype=float).ravel()
    if d.size < 2:
        return NAN
    sd = float(d.std(ddof=1))
    return NAN if sd == 0.0 else float(d.mean()) / sd


def cliffs_delta(control: np.ndarray, treatment: np.ndarray) -> float:
    """Cliff's delta (Cliff 1993), the two-sample dominance statistic of the arms' per-item
    values: δ = (#{(i, j): t_i > c_j} − #{(i, j): t_i < c_j}) / (n_t·n_c), over all pairs.

    It ignores the pairing on purpose: it says how often a treatment item score beats a
    control item score. O(n log n) via sorting. NaN when an arm is empty.
    """
    c = np.sort(np.asarray(control, dtype=float).ravel())
    t = np.asarray(treatment, dtype=float).ravel()
    if c.size == 0 or t.size == 0:
        return NAN
    below = np.searchsorted(c, t, side="left").sum()  # control values < t_i
    above = (c.size - np.searchsorted(c, t, side="right")).sum()  # control values > t_i
    return float(below - above) / (c.size * t.size)
