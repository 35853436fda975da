"""Anytime-valid confidence sequence for a paired mean difference, and the stopping decision.

Method: the betting confidence sequence of Waudby-Smith & Ramdas (2023, JRSS-B
86(1):1–27, "Estimating means of bounded random variables by betting", Thm 3 / §5.3) with
their aGRAPA bets (approximate growth-rate adaptive to the particular alternative). Paired
differences d_i ∈ [−1, 1] are mapped to x_i = (d_i + 1)/2 ∈ [0, 1]; a candidate difference
δ is the mean m = (δ + 1)/2. For each m on a grid a gambler bets on x_i − m with a
predictable stake (it uses x_1..x_{t−1} only):

    μ̂_{t−1} = (½ + Σ_{i<t} x_i)/t          σ̂²_{t−1} = (¼ + Σ_{i<t} (x_i − μ̂_i)²)/t
    λ_t(m)  = clip((μ̂ − m)/(σ̂² + (μ̂ − m)²),  −c/(1 − m),  c/m)            c = 1/2
    K_t(m)  = Π_{i≤t} (1 + λ_i(m)(x_i − m))    (≥ (1 − c)^t > 0)

At the true m, K_t(m) is a nonnegative martingale with K_0 = 1, so by Ville's inequality
P(∃t: K_t(m) ≥ 1/α) ≤ α: {m : K_s(m) < 1/α at every checked s ≤ t} is a (1 − α)
confidence sequence, valid at every look and under any stopping rule. Only the looks
(block ends) are checked; checking fewer times keeps the guarantee. The bet grows with
the evidence against m, which makes the sequence stop fast when the difference is large
(benchmarks/bench_sequential.py; docs/statistics.md, "Sequential runs").

The interval reported is the hull of the grid points never rejected, widened to the
neighbouring rejected grid points (so it contains the true set whenever that is an
interval, which it is for this process). 0 and ±margin are always grid points, so the
decisions below equal pointwise tests of those values.

    decision_of(lo, hi, n, ...) after each complete block:
      n < min_items                  -> None (keep going)
      lo ≥ 0 or hi ≤ 0               -> "difference"   (0 rejected)
      −margin ≤ lo and hi ≤ margin   -> "equivalence"  (every |δ| ≥ margin rejected)
      n ≥ max_items                  -> "maximum"      (no verdict within the budget)
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

BET_CAP = 0.5  # c in the clip of λ_t(m): the bet never risks more than half the capital
DEFAULT_GRID_STEP = 0.005  # in difference units (0.5 points)
DECISIONS = ("difference", "equivalence", "maximum")


def difference_grid(margin: float = 0.0, step: float = DEFAULT_GRID_STEP) -> np.ndarray:
    """Candidate differences δ ∈ [−1, 1], including 0 and ±margin exactly."""
    k = int(round(2.0 / step))
    grid = np.concatenate([np.linspace(-1.0, 1.0, k + 1), [0.0, margin, -margin]])
    return np.unique(np.round(grid, 12))


def rejected_at_looks(d: np.ndarray, looks, grid: np.ndarray, *, alpha: float = 0.05) -> np.ndarray:
    """Which grid differences the confidence sequence has rejected by each look.

    ``d``: paired differences in [−1, 1], shape (n,) or (E, n) for E experiments at once.
    ``looks``: increasing item counts (1-based) after which the sequence is read.
    Returns bool (E, len(looks), len(grid)) — cumulative over looks (running intersection).
    """
    x = (np.atleast_2d(np.asarray(d, dtype=float)) + 1.0) / 2.0
    if np.any(x < -1e-12) or np.any(x > 1 + 1e-12):
        raise ValueError("paired differences must lie in [-1, 1]")
    x = np.clip(x, 0.0, 1.0)
    looks = [int(t) for t in looks]
    if any(t < 1 or t > x.shape[1] for t in looks) or looks != sorted(looks):
        raise ValueError(f"looks must be increasing item counts within 1..{x.shape[1]}")
    n_exp = x.shape[0]
    m = (np.asarray(grid, dtype=float) + 1.0) / 2.0
    with np.errstate(divide="ignore"):
        cap_up = np.where(m > 0, BET_CAP / m, np.inf)[None, :]
        cap_down = np.where(m < 1, -BET_CAP / (1.0 - m), -np.inf)[None, :]
    log_threshold = math.log(1.0 / alpha)
    log_k = np.zeros((n_exp, m.size))
    ever = np.zeros((n_exp, m.size), dtype=bool)
    out = np.zeros((n_exp, len(looks), m.size), dtype=bool)
    sum_x = np.zeros(n_exp)
    sum_sq = np.zeros(n_exp)
    look_index = 0
    for t in range(1, looks[-1] + 1):
        mu_prev = (0.5 + sum_x) / t
        var_prev = (0.25 + sum_sq) / t
        gap = mu_prev[:, None] - m[None, :]
        lam = np.clip(gap / (var_prev[:, None] + gap * gap), cap_down, cap_up)
        xt = x[:, t - 1]
        log_k += np.log1p(lam * (xt[:, None] - m[None, :]))
        sum_x += xt
        sum_sq += (xt - (0.5 + sum_x) / (t + 1)) ** 2
        if t == looks[look_index]:
            ever |= log_k >= log_threshold
            out[:, look_index] = ever
            look_index += 1
    return out


def interval_from_rejected(rejected: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per row of a (..., G) rejection mask: the hull of the unrejected points,
    widened to the neighbouring rejected points (or ±1)."""
    accepted = ~rejected
    g = grid.size
    any_acc = accepted.any(axis=-1)
    first = np.argmax(accepted, axis=-1)
    last = g - 1 - np.argmax(accepted[..., ::-1], axis=-1)
    lo = np.where(first > 0, grid[np.maximum(first - 1, 0)], grid[0])
    hi = np.where(last < g - 1, grid[np.minimum(last + 1, g - 1)], grid[-1])
    # Everything rejected (a grid too coarse for a very short interval): fall back to the
    # whole range rather than claim an empty set.
    lo = np.where(any_acc, lo, grid[0])
    hi = np.where(any_acc, hi, grid[-1])
    return lo, hi


def decision_of(
    lo: float, hi: float, n: int, *, margin: float, min_items: int, max_items: int
) -> Literal["difference", "equivalence", "maximum"] | None:
    """The stopping decision for an interval read after ``n`` items (see module docstring)."""
    if n < min_items:
        return None
    if lo >= 0.0 or hi <= 0.0:
        return "difference"
    if margin > 0 and lo >= -margin and hi <= margin:
        return "equivalence"
    if n >= max_items:
        return "maximum"
    return None


def confidence_sequence(
    d, looks, *, alpha: float = 0.05, margin: float = 0.0, step: float = DEFAULT_GRID_STEP
) -> list[dict]:
    """One row per look: {n, estimate, lo, hi} — the running anytime-valid interval for
    mean(d) after each look, for a single stream of paired differences."""
    d = np.asarray(d, dtype=float)
    if d.size == 0 or not looks:
        return []
    grid = difference_grid(margin, step)
    rejected = rejected_at_looks(d, looks, grid, alpha=alpha)[0]
    lo, hi = interval_from_rejected(rejected, grid)
    return [
        {"n": int(t), "estimate": float(d[:t].mean()), "lo": float(a), "hi": float(b)}
        for t, a, b in zip(looks, lo, hi, strict=True)
    ]
