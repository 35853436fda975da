"""Multiple comparisons: Benjamini–Hochberg q-values over a declared family of p-values."""

from __future__ import annotations

import math

import numpy as np


def benjamini_hochberg(p_values) -> list[float | None]:
    """Benjamini–Hochberg (1995) adjusted p-values ("q-values" in the report).

    With the m finite p-values sorted ascending p_(1) ≤ … ≤ p_(m):
    q_(i) = min_{j ≥ i} min(1, m·p_(j)/j) — a running minimum taken from the *largest*
    p downwards, so q is monotone in p and q ≥ p always. None/NaN entries are not part of
    the family and come back as None, in their original positions.
    """
    values = list(p_values)
    idx = [i for i, p in enumerate(values) if p is not None and math.isfinite(p)]
    out: list[float | None] = [None] * len(values)
    if not idx:
        return out
    p = np.array([values[i] for i in idx], dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    for k, i in enumerate(idx):
        out[i] = float(max(q[k], p[k]))  # q ≥ p holds exactly; max() guards rounding
    return out
