"""Equivalence: TOST (two one-sided tests) on the mean paired difference, with its 90% CI.

    H0: |μ| ≥ margin   vs   H1: −margin < μ < margin
    p_lower = P(T ≥ (d̄ + margin)/se)   tests H0a: μ ≤ −margin
    p_upper = P(T ≤ (d̄ − margin)/se)   tests H0b: μ ≥ +margin
    p = max(p_lower, p_upper); equivalent ⇔ p < α ⇔ the (1 − 2α) CI lies inside (−m, +m)
(Schuirmann 1987; Lakens 2017). T is Student-t on df (n − 1, or G − 1 with clusters).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from evalcli.science.stats.intervals import NAN
from evalcli.science.stats.paired import cluster_robust_se

DEFAULT_TOST_MARGINS: dict[str, float] = {"em": 0.02, "f1": 0.02}


def _one_sided(t: float, df: float, upper: bool) -> float:
    """P(T ≥ t) when upper else P(T ≤ t); t may be ±inf."""
    return float(_st.t.sf(t, df) if upper else _st.t.cdf(t, df))


def tost(d: np.ndarray, margin: float, *, alpha: float = 0.05, clusters=None) -> dict:
    """TOST equivalence test of the paired deltas ``d`` within ±``margin``.

    Returns {margin, alpha, mean_delta, se, df, p_lower, p_upper, p_value, ci_low, ci_high
    (the 1 − 2α CI, i.e. 90% at α = 0.05), ci_level, equivalent}. n < 2, or paired differences
    that never vary (se = 0, e.g. every item scored the same in both arms): no test —
    equivalent = None. The t limit would claim certainty from a handful of identical pairs.
    """
    if margin <= 0:
        raise ValueError(f"TOST margin must be > 0, got {margin}")
    d = np.asarray(d, dtype=float).ravel()
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
    }
    if d.size < 2:
        return out
    mean = float(d.mean())
    se, df = cluster_robust_se(d, clusters)
    if not math.isfinite(se) or df < 1:
        return out
    if se == 0.0:
        return {**out, "se": 0.0, "df": df}
    p_lower = _one_sided((mean + margin) / se, df, upper=True)
    p_upper = _one_sided((mean - margin) / se, df, upper=False)
    half = float(_st.t.ppf(1.0 - alpha, df)) * se
    p = max(p_lower, p_upper)
    out.update(
        se=se,
        df=df,
        p_lower=p_lower,
        p_upper=p_upper,
        p_value=p,
        ci_low=mean - half,
        ci_high=mean + half,
        equivalent=bool(p < alpha),
    )
    return out
