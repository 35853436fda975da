"""Equivalence: TOST (two one-sided tests) on the mean paired difference, with its 90% CI.

    H0: |μ| ≥ margin   vs   H1: −margin < μ < margin
    p_lower tests H0a: μ ≤ −margin,  p_upper tests H0b: μ ≥ +margin
    p = max(p_lower, p_upper); equivalent ⇔ p < α ⇔ the (1 − 2α) CI lies inside (−m, +m)
(Schuirmann 1987; Lakens 2017). Which test, by ``method``:

- "tango_score" (differences in [−1, 1], no clusters; 0/1 and partial scores alike): the
  score tests of Tango (1998) — for 0/1 data his own equivalence test, for partial scores on
  the jump-scaled table of ``scaled`` — with half an effective item of continuity correction
  on the tested side. A t reference on the ±1/0 differences said "equivalent" in 7–15% of
  experiments with the true difference on the margin and few discordant pairs; Tango's test
  without the correction in up to 6.0% (n = 300, 2% of items changing one way); with it every
  cell of the size table in docs/statistics.md ("Equivalence") is at most 5%.
- "tango_score_deff": the same on the table ÷ the design effect (clustered items).
- "t" (differences outside [−1, 1], or clustered partial scores): T = Student-t on df
  (n − 1, or G − 1 with clusters), p_lower = P(T ≥ (d̄ + m)/se), p_upper = P(T ≤ (d̄ − m)/se).

Below ``MIN_ITEMS`` items there is no test (equivalent = None, note says why).
"""

from __future__ import annotations

import math

import numpy as np

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.intervals import NAN, is_binary
from evalcli.science.stats.paired import MIN_ITEMS, TOO_FEW, cluster_robust_se, has_clusters
from evalcli.science.stats.scaled import (
    TOST_CONTINUITY,
    in_unit_range,
    scaled_interval,
    scaled_one_sided_p,
)

DEFAULT_TOST_MARGINS: dict[str, float] = {"em": 0.02, "f1": 0.02}


def _one_sided(t: float, df: float, upper: bool) -> float:
    """P(T ≥ t) when upper else P(T ≤ t); t may be ±inf."""
    return float(_dist.t_sf(t, df) if upper else _dist.t_cdf(t, df))


def tost(d: np.ndarray, margin: float, *, alpha: float = 0.05, clusters=None,
         design_effect: float = 1.0) -> dict:
    """TOST equivalence test of the paired deltas ``d`` within ±``margin``.

    Returns {margin, alpha, mean_delta, se, df, p_lower, p_upper, p_value, ci_low, ci_high
    (the 1 − 2α CI, i.e. 90% at α = 0.05, cut to [−1, 1] for differences of scores),
    ci_level, equivalent, method ("tango_score" | "tango_score_deff" | "t" | "none"), note
    (why there is no test, else None)}. ``design_effect``: the clustered items' design
    effect (paired_difference's) for the score test. Fewer than MIN_ITEMS items, or the t
    test on differences that never vary (se = 0): no test — equivalent = None.
    """
    if margin <= 0:
        raise ValueError(f"TOST margin must be > 0, got {margin}")
    d = np.asarray(d, dtype=float).ravel()
    clustered = has_clusters(clusters)
    unit = in_unit_range(d)
    score = unit and (not clustered or is_binary(np.abs(d)))
    out = {
        "margin": float(margin),
        "alpha": float(alpha),
        "mean_delta": float(d.mean()) if d.size else NAN,
        "se": NAN,
        "df": NAN,
        "p_lower": NAN,
        "p_upper": NAN,
        "p_value": NAN,
        "ci_low": NAN,
        "ci_high": NAN,
        "ci_level": round(1.0 - 2.0 * alpha, 10),
        "equivalent": None,
        "method": "none",
        "note": None,
    }
    if d.size < MIN_ITEMS:
        return {**out, "note": TOO_FEW}
    mean = float(d.mean())
    se, df = cluster_robust_se(d, clusters if clustered else None)
    if not math.isfinite(se) or df < 1:
        return {**out, "note": "no standard error"}
    out.update(se=se, df=df)
    if score:
        deff = design_effect if clustered else 1.0
        lo, hi = scaled_interval(d, confidence=1.0 - 2.0 * alpha, design_effect=deff,
                                 continuity=TOST_CONTINUITY)
        p_lower, p_upper = scaled_one_sided_p(d, margin, design_effect=deff,
                                              continuity=TOST_CONTINUITY)
        out.update(method="tango_score_deff" if clustered else "tango_score",
                   p_lower=p_lower, p_upper=p_upper, p_value=max(p_lower, p_upper),
                   ci_low=lo, ci_high=hi, equivalent=bool(-margin < lo and hi < margin))
        return out
    if se == 0.0:
        return {**out, "note": "the paired differences never varied"}
    p_lower = _one_sided((mean + margin) / se, df, upper=True)
    p_upper = _one_sided((mean - margin) / se, df, upper=False)
    half = float(_dist.t_ppf(1.0 - alpha, df)) * se
    lo, hi = mean - half, mean + half
    if unit:
        lo, hi = max(-1.0, lo), min(1.0, hi)
    p = max(p_lower, p_upper)
    out.update(
        p_lower=p_lower,
        p_upper=p_upper,
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        equivalent=bool(p < alpha),
        method="t",
    )
    return out
