"""Tango's score interval on the *jump-scaled* table: paired differences in [−1, 1] that are
mostly exactly 0 (most answers do not change between the arms), F1 and any non-0/1 metric.

    d_i = treatment_i − control_i ∈ [−1, 1]
        ──► jump size  h = (Σ d_i² + κ) / (Σ |d_i| + κ)             κ = JUMP_PSEUDO = 0.1
        ──► table      b' = Σ max(d_i, 0) / h,   c' = Σ max(−d_i, 0) / h,   n
        ──► Tango's score interval for (b' − c')/n  (``proportions.tango_paired``)
        ──► × h                                     ──► an interval for mean(d)

Why: with few changed items the paired t interval is too narrow exactly when few changes
happen to be seen (its SE shrinks with the estimate), so it misses on one side: 88–93%
coverage at n = 20–100 with 5–10% of items changed (issue #25). For 0/1 data Tango's score
interval (Tango 1998, Stat Med 17:891) has no such problem: it inverts the score test with
the variance *restricted* to each hypothesised difference Δ, 2q̃ + Δ(1 − Δ), which grows as
Δ moves away from the estimate — the same device as Wilson's interval for one proportion.
Differences of partial scores are treated here as changes of one common size h: d/h is read
as a McNemar table (b' items up, c' items down), so that Tango's restricted variance,
times h², is the variance of d under Δ. h = Σd²/Σ|d| makes the unrestricted variance match
the data exactly ((b' + c')/n · h² = Σd²/n), the way Rao & Scott (1992) rescale a table by a
design effect. κ adds a tenth of a full 0 ↔ 1 change to both sums — a pseudo-observation
in the manner of Agresti & Coull (1998) — because with one or two changed items their size
says little about the size of the changes not seen; its weight fades as Σ|d| grows.
For 0/1 data (every d_i ∈ {−1, 0, 1}) Σd² = Σ|d|, so h = 1 and this *is* Tango's interval.
Identical arms (every d_i = 0) give h = 1 and Tango's interval for no discordant pair,
±z²/(n + z²): an interval never collapses to a point. The limits lie in [−h, h] ⊆ [−1, 1].

Coverage (benchmarks/bench_coverage.py, docs/statistics.md "Coverage"): never below 95.5%
in the "k% of items change" models at n = 20–100; 95.5–97.8% from about 10 changed items on,
conservative (up to 100%) with fewer; 94.8–96.7% for dense F1 differences at n ≥ 20.

``continuity`` adds that many effective items to the side being tested — the upper limit
is taken from (b' + cc, c'), the lower from (b', c' + cc): 0.1 for the headline interval
(as for 0/1 data, ``proportions.tango_limits``), 0.5 in TOST, which keeps the equivalence
test's size at most 5% when few pairs are discordant (docs/statistics.md, "Equivalence").
"""

from __future__ import annotations

import math

import numpy as np

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.intervals import NAN
from evalcli.science.stats.proportions import CI_CONTINUITY, DEFF_FLOOR, tango_paired, tango_score

JUMP_PSEUDO = 0.1  # κ: a tenth of a full 0 ↔ 1 change added to Σd² and Σ|d|
TOST_CONTINUITY = 0.5  # effective items added to the tested side in TOST


def in_unit_range(d: np.ndarray) -> bool:
    """True when every difference lies in [−1, 1] (differences of scores in [0, 1])."""
    d = np.asarray(d, dtype=float)
    return d.size > 0 and bool(np.all(np.abs(d) <= 1.0))


def scaled_table(d: np.ndarray, design_effect: float = 1.0) -> tuple[float, float, float, float]:
    """(b', c', n', h) of paired differences ``d`` ∈ [−1, 1] (module docstring); with a
    design effect (clustered items) b', c', n' are divided by it (floor DEFF_FLOOR)."""
    d = np.asarray(d, dtype=float).ravel()
    h = (float(np.sum(d * d)) + JUMP_PSEUDO) / (float(np.sum(np.abs(d))) + JUMP_PSEUDO)
    h = min(max(h, 1e-12), 1.0)
    deff = max(DEFF_FLOOR, float(design_effect)) if math.isfinite(design_effect) else 1.0
    b = float(np.sum(np.clip(d, 0.0, None))) / h / deff
    c = float(np.sum(np.clip(-d, 0.0, None))) / h / deff
    n = d.size / deff
    return b, min(c, n - b), n, h


def _limits(b: float, c: float, n: float, confidence: float, continuity: float):
    if continuity:
        _, _, hi = tango_paired(max(n - b - c - continuity, 0.0), b + continuity, c, 0.0,
                                confidence)
        _, lo, _ = tango_paired(max(n - b - c - continuity, 0.0), b, c + continuity, 0.0,
                                confidence)
    else:
        _, lo, hi = tango_paired(max(n - b - c, 0.0), b, c, 0.0, confidence)
    return float(lo), float(hi)


def scaled_interval(d: np.ndarray, *, confidence: float = 0.95, design_effect: float = 1.0,
                    continuity: float = CI_CONTINUITY) -> tuple[float, float]:
    """The interval for mean(d) (module docstring), with the continuity shift of
    ``proportions.tango_limits`` (0.1 effective item; for 0/1 data this is exactly the
    headline interval of 0/1 metrics); (NaN, NaN) for no items."""
    d = np.asarray(d, dtype=float).ravel()
    if d.size == 0:
        return (NAN, NAN)
    b, c, n, h = scaled_table(d, design_effect)
    lo, hi = _limits(b, c, n, confidence, continuity)
    return (max(-1.0, lo * h), min(1.0, hi * h))


def scaled_one_sided_p(d: np.ndarray, margin: float, *, design_effect: float = 1.0,
                       continuity: float = 0.0) -> tuple[float, float]:
    """(p_lower, p_upper): score p-values of H0a: mean(d) ≤ −margin and H0b: mean(d) ≥
    +margin on the scaled table, with the continuity shift of ``scaled_interval``. p < α on
    both ⇔ the (1 − 2α) interval lies inside (−margin, +margin)."""
    d = np.asarray(d, dtype=float).ravel()
    b, c, n, h = scaled_table(d, design_effect)
    edge = 1.0 - 1e-12
    lo_delta = max(-edge, -margin / h)
    hi_delta = min(edge, margin / h)
    t_lower = float(tango_score(lo_delta, b, c + continuity, n))  # T falls with Δ
    t_upper = float(tango_score(hi_delta, b + continuity, c, n))
    return float(_dist.norm_sf(t_lower)), float(_dist.norm_cdf(t_upper))
