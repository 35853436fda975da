"""The difference of two *paired* proportions: Tango's asymptotic score interval.

    per-item 0/1 outcomes (control c_i, treatment t_i)
        ──► 2×2 table   a = #(t=1, c=1)   b = #(t=1, c=0)
                        c = #(t=0, c=1)   d = #(t=0, c=0)
        ──► θ̂ = p_t − p_c = (b − c)/n
        ──► invert the score test of H0: θ = Δ ──► tango_paired(a, b, c, d)

Tango, T. (1998). Equivalence test and confidence interval for the difference in
proportions for the paired-sample design. Statistics in Medicine 17, 891–908. The score
statistic, with q̃ the restricted maximum-likelihood estimate of the cell probability of c
under θ = Δ,

    T(Δ) = (b − c − nΔ) / √(n·(2q̃ + Δ(1 − Δ)))
    q̃   = (√(B² − 4AC) − B) / 2A,   A = 2n,  B = −b − c + (2n − b + c)Δ,  C = −cΔ(1 − Δ)

falls as Δ rises; the interval is {Δ : −z ≤ T(Δ) ≤ z}, found by bisection on [−1, 1]
(θ̂ = ±1 gives the limit ±1 itself). It never collapses to a point, also when every item
favours one arm, and only a, b, c, d enter, so the counts may be fractional (the
design-effect adjustment for clusters below).

Why Tango and not Newcombe's hybrid score interval (1998, Stat Med 17:2635, method 10):
both were simulated in benchmarks/bench_coverage.py; Newcombe's stays above 97% coverage up
to n = 100 when few pairs are discordant (p ≥ 0.85, ρ ≥ 0.3), Tango's is at 95–97% from
n = 50 there, and the two agree elsewhere (docs/statistics.md, "Coverage").

Checked against Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency
Tables, ch. 8: Cavo et al. (2012), −0.0621 (95% CI −0.1240 to −0.0054), in
tests/unit/test_stats_proportions.py. Vectorised over arrays of tables.
"""

from __future__ import annotations

import numpy as np

from evalcli.science.stats.intervals import z_quantile

_BISECTIONS = 56  # halves [-1, 1] to below 1e-16
DEFF_FLOOR = 0.5  # a design effect estimated from few clusters is noisy: never below this
CI_CONTINUITY = 0.1  # discordant pairs added on the side of each limit (see tango_limits)


def tango_score(delta, b, c, n):
    """Tango's T(Δ) (module docstring), vectorised."""
    big_a = 2.0 * n
    big_b = -b - c + (2.0 * n - b + c) * delta
    big_c = -c * delta * (1.0 - delta)
    q = (np.sqrt(np.maximum(big_b * big_b - 4.0 * big_a * big_c, 0.0)) - big_b) / (2.0 * big_a)
    var = np.maximum(n * (2.0 * q + delta * (1.0 - delta)), 1e-300)
    return (b - c - n * delta) / np.sqrt(var)


def _root(target, b, c, n):
    """The Δ in [-1, 1] where T(Δ) = target (T decreases in Δ)."""
    shape = np.broadcast_shapes(np.shape(target), np.shape(b))
    lo = np.full(shape, -1.0)
    hi = np.full(shape, 1.0)
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2.0
        right = tango_score(mid, b, c, n) > target
        lo = np.where(right, mid, lo)
        hi = np.where(right, hi, mid)
    return (lo + hi) / 2.0


def tango_paired(a, b, c, d, confidence: float = 0.95):
    """(theta, lo, hi) for p_t − p_c from the paired 2×2 table(s) a, b, c, d (cells in the
    module docstring). Arrays broadcast; n = a + b + c + d must be > 0."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, b, c, d)))
    n = a + b + c + d
    z = z_quantile(confidence)
    theta = (b - c) / n
    roots = _root(np.array([z, -z]).reshape((2,) + (1,) * b.ndim), b, c, n)
    lo = np.where(theta <= -1.0, -1.0, roots[0])
    hi = np.where(theta >= 1.0, 1.0, roots[1])
    return theta, np.minimum(lo, theta), np.maximum(hi, theta)


def tango_limits(a, b, c, d, confidence: float = 0.95, continuity: float = CI_CONTINUITY):
    """(lo, hi) of Tango's interval with a continuity shift: the upper limit is taken from
    the table with ``continuity`` more (treatment right, control wrong) pairs, the lower from
    the one with that many more (control right, treatment wrong) pairs, n unchanged.

    Why 0.1 pair: with a handful of discordant pairs mostly one way, Tango's own interval
    covered 93.7% (n = 100, about 7 discordant pairs, benchmarks/bench_coverage.py, the
    "k% of items change" table); a tenth of a pair brings that cell to 97% and moves the
    cells with many discordant pairs by at most 0.5 point (docs/statistics.md, "Coverage").
    Continuity-corrected score intervals for small samples: Fagerland, Lydersen & Laake
    (2014), Stat Med 33:2850. ``continuity`` = 0 is Tango's interval itself. Vectorised."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, b, c, d)))
    if not continuity:
        _, lo, hi = tango_paired(a, b, c, d, confidence)
        return lo, hi
    a_less = np.maximum(a - continuity, 0.0)
    d_less = np.maximum(d - np.maximum(continuity - a, 0.0), 0.0)
    _, _, hi = tango_paired(a_less, b + continuity, c, d_less, confidence)
    _, lo, _ = tango_paired(a_less, b, c + continuity, d_less, confidence)
    return lo, hi


def paired_table(control: np.ndarray, treatment: np.ndarray) -> tuple[float, float, float, float]:
    """(a, b, c, d) of per-item values in [0, 1], read as probabilities of success: for 0/1
    values these are the counts of the paired 2×2 table."""
    x = np.asarray(control, dtype=float)
    y = np.asarray(treatment, dtype=float)
    return (float(np.sum(y * x)), float(np.sum(y * (1 - x))), float(np.sum((1 - y) * x)),
            float(np.sum((1 - y) * (1 - x))))


def paired_proportion_interval(control: np.ndarray, treatment: np.ndarray, *,
                               confidence: float = 0.95, design_effect: float = 1.0,
                               continuity: float = CI_CONTINUITY) -> tuple[float, float]:
    """Tango's interval for mean(treatment) − mean(control) of paired values in [0, 1], with
    the continuity shift of ``tango_limits``.

    ``design_effect`` (clustered items: Var with clusters / Var without) rescales the table to
    its effective size n/deff before the interval is taken (Rao & Scott 1992), so the
    interval widens by about √deff; it is bounded below by DEFF_FLOOR.
    """
    a, b, c, d = paired_table(control, treatment)
    deff = max(DEFF_FLOOR, float(design_effect)) if np.isfinite(design_effect) else 1.0
    lo, hi = tango_limits(a / deff, b / deff, c / deff, d / deff, confidence, continuity)
    return float(lo), float(hi)
