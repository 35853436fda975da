"""Meta-analysis of per-dataset paired deltas: fixed effect, DerSimonian–Laird random effects.

    per dataset k: estimate θ_k, standard error s_k, weight w_k = 1/s_k²
    fixed:   θ_F = Σ w θ / Σ w,  se_F = 1/√Σw
    Q = Σ w (θ − θ_F)²  on df = k − 1;  p_Q = P(χ²_df ≥ Q);  I² = max(0, (Q − df)/Q)
    τ² = max(0, (Q − df) / (Σw − Σw²/Σw))                           (DerSimonian & Laird 1986)
    random:  w* = 1/(s² + τ²),  θ_R = Σ w* θ / Σ w*,  se_R = 1/√Σw*
Intervals are θ ± z_{1−α/2}·se (Borenstein et al., Introduction to Meta-Analysis, ch. 11–16).
Datasets with an SE that is not finite and positive carry no usable weight and are excluded.
"""

from __future__ import annotations

import math

import numpy as np

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.intervals import NAN, z_quantile


def _pooled(theta: np.ndarray, w: np.ndarray, z: float) -> dict:
    est = float(np.sum(w * theta) / np.sum(w))
    se = 1.0 / math.sqrt(float(np.sum(w)))
    return {"delta": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se}


def meta_analysis(estimates, ses, labels=None, *, confidence: float = 0.95) -> dict:
    """Fixed- and random-effects pooling of (estimate, se) pairs.

    Returns {k, included, excluded, fixed: {delta, se, ci_low, ci_high}, random: {…, tau2},
    heterogeneity: {Q, df, p_value, I2, tau2}}; k = number of datasets used. k = 0: pooled
    values NaN; k = 1: pooled = that dataset, Q = 0 on df = 0, p and I² NaN.
    """
    theta_all = np.asarray(estimates, dtype=float).ravel()
    se_all = np.asarray(ses, dtype=float).ravel()
    labels = list(labels) if labels is not None else [str(i) for i in range(theta_all.size)]
    ok = np.isfinite(theta_all) & np.isfinite(se_all) & (se_all > 0)
    included = [lab for lab, keep in zip(labels, ok, strict=True) if keep]
    excluded = [lab for lab, keep in zip(labels, ok, strict=True) if not keep]
    theta, se = theta_all[ok], se_all[ok]
    k = int(theta.size)
    nan_block = {"delta": NAN, "se": NAN, "ci_low": NAN, "ci_high": NAN}
    out = {
        "k": k,
        "included": included,
        "excluded": excluded,
        "fixed": dict(nan_block),
        "random": {**nan_block, "tau2": NAN},
        "heterogeneity": {"Q": NAN, "df": max(k - 1, 0), "p_value": NAN, "I2": NAN, "tau2": NAN},
    }
    if k == 0:
        return out
    z = z_quantile(confidence)
    w = 1.0 / se**2
    fixed = _pooled(theta, w, z)
    q = float(np.sum(w * (theta - fixed["delta"]) ** 2))
    df = k - 1
    if df >= 1:
        p_q = float(_dist.chi2_sf(q, df))
        i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
        c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
        tau2 = max(0.0, (q - df) / c) if c > 0 else 0.0
    else:
        p_q, i2, tau2 = NAN, NAN, 0.0
    random = _pooled(theta, 1.0 / (se**2 + tau2), z)
    out.update(
        fixed=fixed,
        random={**random, "tau2": tau2},
        heterogeneity={"Q": q, "df": df, "p_value": p_q, "I2": i2, "tau2": tau2},
    )
    return out
