"""The mean paired difference: point estimate, paired/cluster-robust SE and its intervals.

    control[i], treatment[i]  (aligned by item)
        d_i = treatment_i − control_i
        ├─► delta = mean(d)
        ├─► se: paired SE s_d/√n, or cluster-robust (CR1) when items share a cluster
        ├─► clt_low/high = delta ± t_{1-α/2, df}·se     (df = n−1, or G−1 with clusters)
        ├─► ci_low/high: the headline interval (see headline_interval), named by ci_method:
        │     both arms 0/1 ──────────► Tango's paired score interval (÷ design effect if clustered)
        │     scores in [0, 1] ───────► Tango's score interval on the jump-scaled table (scaled.py)
        │     clustered, not 0/1 ─────► the cluster-robust t interval above
        │     n < MIN_ITEMS ──────────► none (ci_note says why)
        ├─► boot_low/high: paired percentile bootstrap (descriptive: it under-covers at small n)
        └─► p_value: paired t-test, t = delta/se on df

Every interval of a difference of scores in [0, 1] is cut to [−1, 1], where the difference
lies. The bootstrap is vectorised: index matrices of at most ``_CHUNK`` cells are drawn from
one seeded ``numpy.random.Generator`` and reduced with numpy, never a Python loop per resample.
"""

from __future__ import annotations

import math

import numpy as np

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.intervals import NAN, is_binary, t_quantile, z_quantile
from evalcli.science.stats.proportions import paired_proportion_interval
from evalcli.science.stats.scaled import in_unit_range, scaled_interval

_CHUNK = 2_000_000  # cells per index matrix (~8 MB of int32)
_GATHER = 500_000  # cells of drawn values gathered at once (~4 MB of float64)
MIN_ITEMS = 10  # fewer paired items: no interval (the coverage table starts at n = 10)
TOO_FEW = f"too few items for an interval (n < {MIN_ITEMS})"


def _cluster_sums(d: np.ndarray, clusters) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums and sizes of d; clusters None = every item its own cluster."""
    if clusters is None:
        return d, np.ones_like(d)
    _, inv = np.unique(np.asarray(clusters), return_inverse=True)
    inv = inv.ravel()
    sums = np.bincount(inv, weights=d)
    sizes = np.bincount(inv).astype(float)
    return sums, sizes


def has_clusters(clusters) -> bool:
    """True when ``clusters`` groups at least two items together."""
    if clusters is None:
        return False
    c = np.asarray(clusters)
    return c.size > 0 and np.unique(c).size < c.size


def cluster_robust_se(d: np.ndarray, clusters=None) -> tuple[float, int]:
    """(SE of mean(d), df). Without clusters: s_d/√n on n−1 df.

    With clusters (Liang & Zeger 1986; CR1 small-sample factor G/(G−1), Cameron & Miller
    2015): V = G/(G−1) · Σ_g (Σ_{i∈g} (d_i − d̄))² / n², on G − 1 df. With every cluster of
    size one this equals s_d²/n exactly.
    """
    d = np.asarray(d, dtype=float)
    n = d.size
    if n < 2:
        return (NAN, max(n - 1, 0))
    if not has_clusters(clusters):
        return (float(d.std(ddof=1)) / math.sqrt(n), n - 1)
    sums, sizes = _cluster_sums(d, clusters)
    g = sums.size
    if g < 2:
        return (NAN, 0)
    resid = sums - sizes * d.mean()
    var = g / (g - 1) * float(np.sum(resid * resid)) / (n * n)
    return (math.sqrt(var), g - 1)


def bootstrap_means(
    d: np.ndarray, n_boot: int, rng: np.random.Generator, clusters=None
) -> np.ndarray:
    """``n_boot`` bootstrap replicates of mean(d): items (or whole clusters) drawn with
    replacement (Efron & Tibshirani 1993, ch. 6; the cluster bootstrap resamples clusters and
    takes the ratio Σ sums / Σ sizes)."""
    d = np.asarray(d, dtype=float)
    sums, sizes = _cluster_sums(d, clusters if has_clusters(clusters) else None)
    g = sums.size
    out = np.empty(n_boot)
    rows = max(1, _CHUNK // max(g, 1))
    step = max(1, _GATHER // max(g, 1))
    plain = sizes.size == 0 or bool(np.all(sizes == 1.0))
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, g, size=(stop - start, g), dtype=np.int32)
        # gathered a few rows at a time: values of the drawn items never exceed ~4 MB
        for at in range(0, stop - start, step):
            part = idx[at:at + step]
            if plain:
                out[start + at:start + at + len(part)] = sums[part].mean(axis=1)
            else:
                out[start + at:start + at + len(part)] = \
                    sums[part].sum(axis=1) / sizes[part].sum(axis=1)
        del idx, part  # before the next chunk is drawn: one index matrix alive, not two
    return out


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval: the α/2 and 1 − α/2 quantiles of the replicates."""
    if replicates.size == 0:
        return (NAN, NAN)
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(replicates, [a, 1.0 - a])
    return (float(lo), float(hi))


def t_test_p(delta: float, se: float, df: float) -> float:
    """Two-sided p of t = delta/se on df. se == 0: p = 1 if delta == 0 else 0 (the limit)."""
    if not (math.isfinite(delta) and math.isfinite(se)) or df < 1:
        return NAN
    if se == 0.0:
        return 1.0 if delta == 0.0 else 0.0
    return float(2.0 * _dist.t_sf(abs(delta / se), df))


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of the two arms; NaN when either is constant or n < 2."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return NAN
    # by hand, not np.corrcoef: its matrix product makes OpenBLAS allocate a 32 MB buffer
    xc, yc = x - x.mean(), y - y.mean()
    r = float(np.sum(xc * yc)) / math.sqrt(float(np.sum(xc * xc)) * float(np.sum(yc * yc)))
    return min(1.0, max(-1.0, r))


def paired_difference(
    control: np.ndarray,
    treatment: np.ndarray,
    *,
    confidence: float = 0.95,
    n_boot: int = 5000,
    seed: int | np.random.SeedSequence = 0,
    clusters=None,
) -> dict:
    """Mean paired difference treatment − control with its intervals.

    Returns {n, control_mean, treatment_mean, delta, ci_low, ci_high, ci_method (the
    headline interval actually computed, see ``headline_interval``; "none" below MIN_ITEMS),
    ci_note (why there is no interval, else None), clt_low, clt_high (delta ± t·se),
    boot_low, boot_high (paired percentile bootstrap, NaN when n_boot = 0), se, df,
    se_method ("paired" or "cluster_robust"), n_clusters, design_effect, correlation,
    p_value (paired t-test on se, df)}.
    Intervals of scores in [0, 1] are cut to [−1, 1]. n < MIN_ITEMS: every interval NaN and
    ci_note says so (coverage is not known there). n == 0: every number NaN. n == 1: the
    means and delta; se and p NaN (one item says nothing about spread).
    """
    c = np.asarray(control, dtype=float).ravel()
    t = np.asarray(treatment, dtype=float).ravel()
    if c.shape != t.shape:
        raise ValueError(f"control and treatment differ in length: {c.size} vs {t.size}")
    n = int(c.size)
    clustered = has_clusters(clusters)
    if clustered and np.asarray(clusters).size != n:
        raise ValueError(f"clusters has {np.asarray(clusters).size} labels for {n} items")
    n_clusters = int(np.unique(np.asarray(clusters)).size) if clustered else n
    out = {
        "n": n,
        "control_mean": NAN,
        "treatment_mean": NAN,
        "delta": NAN,
        "ci_low": NAN,
        "ci_high": NAN,
        "ci_method": headline_method(c, t, clustered) if n >= MIN_ITEMS else "none",
        "ci_note": None if n >= MIN_ITEMS else TOO_FEW,
        "clt_low": NAN,
        "clt_high": NAN,
        "boot_low": NAN,
        "boot_high": NAN,
        "se": NAN,
        "df": max(n_clusters - 1, 0),
        "se_method": "cluster_robust" if clustered else "paired",
        "n_clusters": n_clusters,
        "design_effect": NAN,
        "correlation": NAN,
        "p_value": NAN,
    }
    if n == 0:
        return out
    d = t - c
    delta = float(d.mean())
    out.update(control_mean=float(c.mean()), treatment_mean=float(t.mean()), delta=delta)
    if n < 2:
        return out
    se, df = cluster_robust_se(d, clusters if clustered else None)
    out.update(se=se, df=df, correlation=correlation(c, t), p_value=t_test_p(delta, se, df))
    deff = design_effect(d, se, df, confidence) if clustered else 1.0
    out["design_effect"] = deff
    if n < MIN_ITEMS:
        return out
    cut = _cutter(c, t)
    if math.isfinite(se) and df >= 1:
        half = t_quantile(confidence, df) * se
        out["clt_low"], out["clt_high"] = cut(delta - half, delta + half)
    lo, hi = headline_interval(
        c, t, out["ci_method"], confidence=confidence, clt=(out["clt_low"], out["clt_high"]),
        design_effect=deff)
    if out["ci_method"] == "cluster_robust_t" and lo == hi and in_unit_range(d):
        # differences without spread: the t interval is a point; say what replaces it
        out["ci_method"] = "tango_scaled_score_deff"
        lo, hi = scaled_interval(d, confidence=confidence, design_effect=deff)
    out["ci_low"], out["ci_high"] = cut(lo, hi)
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        reps = bootstrap_means(d, n_boot, rng, clusters if clustered else None)
        out["boot_low"], out["boot_high"] = cut(*percentile_interval(reps, confidence))
    return out


def _cutter(c: np.ndarray, t: np.ndarray):
    """Cut an interval to [−1, 1] when both arms' values lie in [0, 1] (their difference can
    be nowhere else); otherwise leave it as it is."""
    in_unit = bool(np.all((c >= 0) & (c <= 1) & (t >= 0) & (t <= 1)))

    def cut(lo: float, hi: float) -> tuple[float, float]:
        if not in_unit:
            return (lo, hi)
        return (max(-1.0, lo) if math.isfinite(lo) else lo,
                min(1.0, hi) if math.isfinite(hi) else hi)
    return cut


def headline_method(control: np.ndarray, treatment: np.ndarray, clustered: bool) -> str:
    """Which interval leads: "tango_paired_score" (both arms 0/1), its clustered form
    "tango_paired_score_deff", "tango_scaled_score" (other scores in [0, 1], see scaled.py),
    "cluster_robust_t" (clustered, not 0/1) or "paired_t" (values outside [0, 1])."""
    if is_binary(control) and is_binary(treatment):
        return "tango_paired_score_deff" if clustered else "tango_paired_score"
    if clustered:
        return "cluster_robust_t"
    c = np.asarray(control, dtype=float)
    t = np.asarray(treatment, dtype=float)
    if c.size and bool(np.all((c >= 0) & (c <= 1) & (t >= 0) & (t <= 1))):
        return "tango_scaled_score"
    return "paired_t"


def design_effect(d: np.ndarray, se: float, df: float, confidence: float = 0.95) -> float:
    """How much clustering inflates Var(mean d), for the score interval on clustered 0/1 data:
    (se / (s_d/√n))² (Rao & Scott 1992), times (t_{df}/z)² so that few clusters (df = G − 1)
    widen the interval as the cluster-robust t interval does. 1 when d has no spread (nothing
    to inflate) or n < 2."""
    d = np.asarray(d, dtype=float)
    if d.size < 2 or not math.isfinite(se) or df < 1:
        return 1.0
    iid = float(d.std(ddof=1)) / math.sqrt(d.size)
    if iid == 0.0:
        return 1.0
    return (se / iid) ** 2 * (t_quantile(confidence, df) / z_quantile(confidence)) ** 2


def headline_interval(control, treatment, method: str, *, confidence: float,
                      clt: tuple[float, float], design_effect: float = 1.0) -> tuple[float, float]:
    """The reported interval for mean(treatment − control), by ``method`` (headline_method):

    - "tango_paired_score": Tango's paired score interval with a continuity shift of 0.1
      discordant pair (``proportions.tango_limits``).
    - "tango_paired_score_deff": Tango's own interval on the table shrunk by the design
      effect when items share clusters (never below DEFF_FLOOR).
    - "tango_scaled_score": Tango's interval on the jump-scaled table of the differences
      (``scaled``): it holds when most differences are exactly 0 (docs/statistics.md).
    - "cluster_robust_t" / "paired_t": the t interval ``clt``.
    """
    c = np.asarray(control, dtype=float)
    t = np.asarray(treatment, dtype=float)
    if method.startswith("tango_paired"):
        if method.endswith("_deff"):  # Tango's own limits: already conservative at few clusters
            return paired_proportion_interval(c, t, confidence=confidence,
                                              design_effect=design_effect, continuity=0.0)
        return paired_proportion_interval(c, t, confidence=confidence)
    if method.startswith("tango_scaled"):
        deff = design_effect if method.endswith("_deff") else 1.0
        return scaled_interval(t - c, confidence=confidence, design_effect=deff)
    return clt
