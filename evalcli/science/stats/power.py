"""Power: the minimum detectable effect a run achieved, and items needed for a target effect.

Normal-approximation formulas for a two-sided test at level α with power 1 − β on the mean
paired difference (Chow, Shao & Wang, Sample Size Calculations in Clinical Research, §3.1):
    MDE = (z_{1−α/2} + z_{1−β}) · se               se = the achieved (paired or clustered) SE
    n_required(δ) = ⌈ n · ((z_{1−α/2} + z_{1−β}) · se / δ)² ⌉   (= ((z+z)·sd/δ)² for iid items)
Scaling the achieved SE carries the run's design effect (clusters, correlation) along.
"""

from __future__ import annotations

import math

from scipy import stats as _st

from evalcli.science.stats.intervals import NAN

DEFAULT_TARGETS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10)


def _z_sum(alpha: float, power: float) -> float:
    return float(_st.norm.ppf(1.0 - alpha / 2.0) + _st.norm.ppf(power))


def minimum_detectable_effect(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true |delta| detected with probability ``power`` given the achieved SE; NaN when
    the SE is unknown or 0 (differences that never varied estimate no spread: an MDE of 0
    would claim any effect is detectable)."""
    if not math.isfinite(se) or se <= 0:
        return NAN
    return _z_sum(alpha, power) * se


def items_required(
    se: float, n: int, target: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Items needed to detect |delta| = ``target`` with ``power``, scaling the achieved SE of
    a run of ``n`` items. None when the SE is unknown or 0 (no spread to scale)."""
    if target <= 0:
        raise ValueError(f"target effect must be > 0, got {target}")
    if not math.isfinite(se) or se <= 0 or n < 2:
        return None
    need = n * (_z_sum(alpha, power) * se / target) ** 2
    return max(2, math.ceil(need - 1e-9))


def power_summary(
    se: float,
    n: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    targets: tuple[float, ...] = DEFAULT_TARGETS,
) -> dict:
    """{alpha, power, mde, items_required: {"0.02": N, ...}} for one comparison."""
    return {
        "alpha": alpha,
        "power": power,
        "mde": minimum_detectable_effect(se, alpha=alpha, power=power),
        "items_required": {
            f"{t:.3f}": items_required(se, n, t, alpha=alpha, power=power) for t in targets
        },
    }
