"""Confidence intervals for one arm: Wilson and Clopper–Pearson for proportions, t for means.

    values ──► mean_interval ──┬─ all values 0/1 ─► Wilson score interval
                               └─ otherwise ───────► Student-t interval (df = n − 1)

Every function takes ``confidence`` (two-sided) and returns plain floats; an interval that
cannot be computed (n == 0, or n == 1 for the t interval) is NaN, never an exception.
"""

from __future__ import annotations

import math

import numpy as np

from evalcli.science.stats import dist as _dist

NAN = float("nan")


def z_quantile(confidence: float) -> float:
    """The two-sided normal critical value z_{1-α/2} for ``confidence`` = 1 − α."""
    return float(_dist.norm_ppf(0.5 + confidence / 2.0))


def t_quantile(confidence: float, df: float) -> float:
    """The two-sided Student-t critical value t_{1-α/2, df}."""
    return float(_dist.t_ppf(0.5 + confidence / 2.0, df))


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Agresti & Coull 1998).

    With p̂ = s/n and z = z_{1-α/2}:
    centre = (p̂ + z²/2n) / (1 + z²/n),  half = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).
    ``successes`` may be fractional (a sum of per-item rates). n == 0 gives (NaN, NaN).
    """
    if n <= 0:
        return (NAN, NAN)
    z = z_quantile(confidence)
    p = min(max(successes / n, 0.0), 1.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def clopper_pearson_interval(
    successes: int, n: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Exact (Clopper–Pearson 1934) binomial interval from beta quantiles.

    lo = Beta_{α/2}(k, n−k+1) (0 when k = 0),  hi = Beta_{1−α/2}(k+1, n−k) (1 when k = n).
    """
    if n <= 0:
        return (NAN, NAN)
    alpha = 1.0 - confidence
    lo = 0.0 if successes <= 0 else float(_dist.beta_ppf(alpha / 2, successes, n - successes + 1))
    hi = 1.0 if successes >= n else float(_dist.beta_ppf(1 - alpha / 2, successes + 1, n - successes))
    return (lo, hi)


def is_binary(values: np.ndarray) -> bool:
    """True when every value is exactly 0 or 1 (and there is at least one)."""
    v = np.asarray(values, dtype=float)
    return v.size > 0 and bool(np.all((v == 0.0) | (v == 1.0)))


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi): mean ± t_{1-α/2, n−1}·s/√n with s the sample SD (ddof = 1)."""
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return (NAN, NAN, NAN)
    mean = float(v.mean())
    if n == 1:
        return (mean, NAN, NAN)
    se = float(v.std(ddof=1)) / math.sqrt(n)
    half = t_quantile(confidence, n - 1) * se
    return (mean, mean - half, mean + half)


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi) for one arm's per-item values.

    Rule: when every value is 0 or 1 the data are a proportion and the Wilson interval is
    used, at any n (for n < ~300 the t/CLT interval under-covers, and at p̂ = 0 or 1 it has
    zero width; for large n the two agree, so Wilson is never the worse choice). Otherwise
    (per-item means over samples, F1) the Student-t interval with df = n − 1, cut to [0, 1]
    when every value lies there: the mean of such scores cannot leave [0, 1], and cutting an
    interval to where the parameter can be never lowers its coverage (a few items of F1 gave
    "50.0 [-12.1, 112.1]" in a report).
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return (NAN, NAN, NAN)
    if is_binary(v):
        lo, hi = wilson_interval(float(v.sum()), int(v.size), confidence)
        return (float(v.mean()), lo, hi)
    mean, lo, hi = t_interval(v, confidence)
    if bool(np.all((v >= 0.0) & (v <= 1.0))) and not math.isnan(lo):
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return (mean, lo, hi)


def mean_interval_method(values: np.ndarray) -> str:
    """The name of the interval ``mean_interval`` uses for ``values``: "wilson" or "t"."""
    return "wilson" if is_binary(values) else "t"
