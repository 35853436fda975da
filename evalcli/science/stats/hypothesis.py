"""Paired hypothesis tests: McNemar exact, Wilcoxon signed-rank, sign-flip permutation.

All take per-item paired data (or the deltas d_i = treatment_i − control_i) and return
plain dicts of floats; NaN marks a value that cannot be computed.
"""

from __future__ import annotations

import math

import numpy as np

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.intervals import NAN, clopper_pearson_interval

_CHUNK = 4_000_000  # sign bits drawn at once
_GATHER = 500_000  # of them unpacked to float64 at once
_EXACT_WILCOXON_N = 50  # exact null distribution without ties/zeros up to this n
_ENUM_WILCOXON_N = 13  # with ties or zeros: full sign enumeration up to this n


def mcnemar_exact(control: np.ndarray, treatment: np.ndarray, confidence: float = 0.95) -> dict:
    """McNemar's exact test on paired binary outcomes (1 = correct).

    b = #(control 0, treatment 1), c = #(control 1, treatment 0). Under H0, b | b+c ~
    Bin(b+c, ½); the two-sided exact p = min(1, 2·P(X ≤ min(b, c))). The conditional
    (matched-pairs) odds ratio is b/c; its exact CI maps the Clopper–Pearson interval
    (π_lo, π_hi) of π = b/(b+c) through π/(1−π) (Breslow & Day 1980 §7.6; Fay 2010,
    "exact2x2"). OR is inf when c = 0, NaN when b = c = 0; n_discordant = 0 gives p = 1.
    """
    c_arr = np.asarray(control, dtype=float).ravel()
    t_arr = np.asarray(treatment, dtype=float).ravel()
    if c_arr.shape != t_arr.shape:
        raise ValueError(f"control and treatment differ in length: {c_arr.size} vs {t_arr.size}")
    b = int(np.sum((c_arr == 0) & (t_arr == 1)))
    c = int(np.sum((c_arr == 1) & (t_arr == 0)))
    n = b + c
    if n == 0:
        return {
            "b": 0,
            "c": 0,
            "n_discordant": 0,
            "p_value": 1.0,
            "odds_ratio": NAN,
            "or_ci_low": NAN,
            "or_ci_high": NAN,
        }
    p = min(1.0, 2.0 * float(_dist.binom_cdf(min(b, c), n, 0.5)))
    lo, hi = clopper_pearson_interval(b, n, confidence)
    return {
        "b": b,
        "c": c,
        "n_discordant": n,
        "p_value": p,
        "odds_ratio": _odds(b / n),
        "or_ci_low": _odds(lo),
        "or_ci_high": _odds(hi),
    }


def _odds(p: float) -> float:
    return math.inf if p >= 1.0 else p / (1.0 - p)


def _wilcoxon_exact_pmf(n: int) -> np.ndarray:
    """Null pmf of W+ for ranks 1..n without ties: counts of subset sums / 2^n."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts / counts.sum()


def _enumerated_w_plus(ranks: np.ndarray) -> np.ndarray:
    """W+ for every one of the 2^n sign assignments of ``ranks`` (n ≤ 13)."""
    n = ranks.size
    signs = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    return signs @ ranks


def wilcoxon_signed_rank(d: np.ndarray) -> dict:
    """Wilcoxon signed-rank test of H0: deltas symmetric about 0, two-sided.

    Zeros are dropped ("wilcox" method); |d| ranked with average ranks; W+ = Σ ranks of
    positive d. p-value, as scipy.stats.wilcoxon(method="auto") does it: exact null
    distribution when n ≤ 50 with no ties or zeros; all 2^n sign flips when n ≤ 13
    otherwise; else normal approximation z = (W+ − n(n+1)/4)/σ with
    σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 (tie correction), no continuity correction.
    Returns {w_plus, w_minus, n_nonzero, z, p_value, method}.
    """
    d = np.asarray(d, dtype=float).ravel()
    n_total = d.size
    nz = d[d != 0]
    n = nz.size
    out = {"w_plus": NAN, "w_minus": NAN, "n_nonzero": n, "z": NAN, "p_value": NAN, "method": None}
    if n_total == 0:
        return out
    if n == 0:
        out.update(w_plus=0.0, w_minus=0.0, p_value=1.0, method="all_zero")
        return out
    ranks = _dist.rankdata(np.abs(nz))
    w_plus = float(ranks[nz > 0].sum())
    w_minus = float(ranks[nz < 0].sum())
    _, tie_counts = np.unique(ranks, return_counts=True)
    has_ties = bool(np.any(tie_counts > 1))
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(tie_counts**3 - tie_counts)) / 48.0
    z = (w_plus - mean) / math.sqrt(var) if var > 0 else 0.0
    out.update(w_plus=w_plus, w_minus=w_minus, z=z)
    if n_total <= _EXACT_WILCOXON_N and not has_ties and n == n_total:
        pmf = _wilcoxon_exact_pmf(n)
        w = int(round(w_plus))
        p = 2.0 * min(pmf[: w + 1].sum(), pmf[w:].sum())
        out.update(p_value=min(1.0, float(p)), method="exact")
    elif n_total <= _ENUM_WILCOXON_N:
        null = _enumerated_w_plus(ranks)
        eps = 1e-9 * max(1.0, w_plus)
        p = 2.0 * min(np.mean(null <= w_plus + eps), np.mean(null >= w_plus - eps))
        out.update(p_value=min(1.0, float(p)), method="enumeration")
    else:
        out.update(p_value=float(2.0 * _dist.norm_sf(abs(z))), method="normal")
    return out


def sign_flip_test(
    d: np.ndarray,
    *,
    n_perm: int = 5000,
    seed: int | np.random.SeedSequence = 0,
    clusters=None,
) -> dict:
    """Sign-flip permutation test of H0: mean delta = 0 (deltas symmetric under H0).

    Statistic |Σ d_i| (equivalently |mean d|). Random signs ε ∈ {−1, +1} flip each item's
    delta — or each cluster's sum when ``clusters`` is given, so items that share a passage
    flip together. p = (1 + #{|Σ ε·d| ≥ |Σ d|}) / (1 + n_perm) (the +1 correction of
    Phipson & Smyth 2010: never 0, valid at any n_perm). When 2^G ≤ n_perm every sign vector
    is enumerated and p is the exact share (the observed one included).
    Returns {p_value, n_perm (0 when enumerated), method}.
    """
    d = np.asarray(d, dtype=float).ravel()
    if d.size == 0:
        return {"p_value": NAN, "n_perm": 0, "method": None}
    if clusters is not None and np.unique(np.asarray(clusters)).size < d.size:
        _, inv = np.unique(np.asarray(clusters), return_inverse=True)
        units = np.bincount(inv.ravel(), weights=d)
    else:
        units = d
    g = units.size
    observed = abs(float(units.sum()))
    tol = 1e-9 * max(1.0, float(np.abs(units).sum()))
    if observed <= tol:
        return {"p_value": 1.0, "n_perm": 0, "method": "zero_statistic"}
    if g <= 20 and 2**g <= n_perm:
        signs = 1 - 2 * ((np.arange(2**g)[:, None] >> np.arange(g)) & 1)
        stats_ = np.abs(signs @ units)
        return {
            "p_value": float(np.mean(stats_ >= observed - tol)),
            "n_perm": 0,
            "method": "exact_enumeration",
        }
    rng = np.random.default_rng(seed)
    hits = 0
    rows, step = max(1, _CHUNK // g), max(1, _GATHER // g)
    for start in range(0, n_perm, rows):
        m = min(n_perm, start + rows) - start
        packed = rng.integers(0, 256, size=(m, (g + 7) // 8), dtype=np.uint8)
        for at in range(0, m, step):  # unpacked a few rows at a time (~4 MB of float64)
            signs = np.unpackbits(packed[at:at + step], axis=1, count=g).astype(np.float64)
            # Σ(1 − 2s)u, fair coin s; einsum, not `@`: a matrix product makes OpenBLAS
            # allocate a 32 MB buffer
            stats_ = np.abs(units.sum() - 2.0 * np.einsum("ij,j->i", signs, units))
            hits += int(np.sum(stats_ >= observed - tol))
        del packed  # before the next chunk is drawn: one sign matrix alive, not two
    return {"p_value": (1 + hits) / (1 + n_perm), "n_perm": n_perm, "method": "monte_carlo"}
