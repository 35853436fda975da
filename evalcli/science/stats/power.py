"""Power: the minimum detectable effect a run achieved, and items needed for a target effect.

Two kinds, both returning {alpha, power, mde, items_required: {"0.010": N, ...}}:

- ``rule_power_summary`` (what significance.json reports): the power of the verdict rule
  itself — the 95% headline interval excludes 0 and the sign-flip p < α — given the
  discordance the run observed; exact for paired 0/1 data (the comment above
  ``_rule_threshold`` has the model), on the jump-scaled table of ``scaled`` otherwise.
  The normal formula below overstated it: 300 items with 3 discordant said "1.6 points",
  where the rule's power is 35%; the rule's MDE there is 2.6 points.
- ``power_summary``: normal-approximation formulas for a two-sided test at level α with
  power 1 − β on the mean paired difference (Chow, Shao & Wang, Sample Size Calculations in
  Clinical Research, §3.1):
    MDE = (z_{1−α/2} + z_{1−β}) · se               se = the achieved (paired or clustered) SE
    n_required(δ) = ⌈ n · ((z_{1−α/2} + z_{1−β}) · se / δ)² ⌉   (= ((z+z)·sd/δ)² for iid items)
  Scaling the achieved SE carries the run's design effect (clusters, correlation) along.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special as _sp

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.intervals import NAN
from evalcli.science.stats.proportions import CI_CONTINUITY

DEFAULT_TARGETS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10)


def _z_sum(alpha: float, power: float) -> float:
    return float(_dist.norm_ppf(1.0 - alpha / 2.0) + _dist.norm_ppf(power))


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


# ── the power of the verdict rule itself ─────────────────────────────────────────────────
#
# The report calls a difference when the 95% headline interval excludes 0 AND the primary
# p (sign-flip permutation) is below α (the BH step is left out here: it depends on the
# other comparisons). For 0/1 data without clusters both parts depend only on the
# discordant counts b (treatment right, control wrong) and c:
#   Tango's interval excludes 0  ⇔  (b − c − cc)/√(b + c + cc) > z_{1−α/2}  (its score at
#                                   Δ = 0, cc = the 0.1-pair continuity shift of the limit)
#   the sign-flip p (its exact limit)  = McNemar's exact p = min(1, 2·P(X ≤ min(b, c))),
#                                        X ~ Bin(b + c, ½)
# so for m = b + c discordant pairs the rule rejects iff max(b, c) ≥ k(m), a threshold
# computed once per m. Model of an experiment with n items, observed discordance rate r and
# true difference δ: the discordance D = max(r, |δ|) (the noise seen stays; an effect larger
# than it needs more changed items, all in its direction), m ~ Bin(n, D) and
# b | m ~ Bin(m, (D + δ)/2D). Power(δ) = Σ_m P(m) · P(max(b, c) ≥ k(m) | m) — exact,
# vectorised over m; the MDE is the δ where it reaches 80% (bisection), items_required the
# smallest n where it does. Non-0/1 scores use the jump-scaled table of scaled.py
# (b' = Σd⁺/h, c' = Σd⁻/h, effect δ/h), clustered items the table ÷ the design effect.

_RULE_MAX_ITEMS = 10_000_000


def _rule_threshold(m: np.ndarray, alpha: float) -> np.ndarray:
    """k(m): the smallest max(b, c) at which the rule rejects with m discordant pairs
    (m + 1 when it never does); from a table computed once per α and size."""
    m = np.asarray(m, dtype=np.int64)
    top = int(m.max()) if m.size else 0
    size = 1024
    while size <= top:
        size *= 4
    return _threshold_table(size, float(alpha))[m]


@functools.lru_cache(maxsize=16)
def _threshold_table(size: int, alpha: float) -> np.ndarray:
    z = float(_dist.norm_ppf(1.0 - alpha / 2.0))
    m = np.arange(size, dtype=np.int64)
    cc = CI_CONTINUITY
    k_tango = np.floor((m + cc + z * np.sqrt(m + cc)) / 2.0 + 1e-12).astype(np.int64) + 1
    # exact p < α ⇔ P(X ≤ m − b) < α/2: m − b ≤ j, j the largest with cdf(j) < α/2
    j = _dist.binom_below(alpha / 2.0, m)
    k_exact = m - j
    k = np.maximum(k_tango, k_exact)
    table = np.where((m > 0) & (k <= m), k, m + 1)
    table.setflags(write=False)
    return table


def rule_power(n: int, discordance: float, effect: float, *, alpha: float = 0.05) -> float:
    """P(the verdict rule calls a difference) for paired 0/1 data: ``n`` items, a
    discordance rate ``discordance`` (share of items whose outcome differs between arms)
    and a true difference ``effect`` (module comment above)."""
    n = int(n)
    delta = min(abs(float(effect)), 1.0)
    dis = min(max(float(discordance), delta), 1.0)
    if n < 1 or dis <= 0.0:
        return 0.0
    sd = math.sqrt(n * dis * (1.0 - dis))
    lo = max(0, math.floor(n * dis - 9.0 * sd - 2))  # P(m outside) < 1e-18
    hi = min(n, math.ceil(n * dis + 9.0 * sd + 2))
    m = np.arange(lo, hi + 1)
    w = _binom_pmf(m, n, dis)
    k = _rule_threshold(m, alpha)
    up = (dis + delta) / (2.0 * dis)
    # b ≥ k or c = m − b ≥ k; the two never overlap (the rule needs k > m/2). scipy.special's
    # binomial tails, not scipy.stats' (the same numbers, ~7× faster: this runs thousands of
    # times per comparison for items_required)
    with np.errstate(invalid="ignore"):
        reject = _sp.bdtrc(k - 1, m, up) + _sp.bdtr(m - k, m, up)
    return float(np.sum(w * np.where(k <= m, reject, 0.0)))


def _binom_pmf(m: np.ndarray, n: int, p: float) -> np.ndarray:
    """Bin(n, p) probabilities of m, through log-gamma (scipy.stats' pmf to ~1e-12)."""
    if p >= 1.0:
        return (m == n).astype(float)
    lg = _sp.gammaln
    return np.exp(lg(n + 1) - lg(m + 1) - lg(n - m + 1) + m * math.log(p)
                  + (n - m) * math.log1p(-p))


def rule_mde(n: int, discordance: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest difference in [0, 1] the rule detects with probability ``power``;
    NaN when even a difference of 1 (every item changes one way) is not."""
    if rule_power(n, discordance, 1.0, alpha=alpha) < power:
        return NAN
    lo, hi = 0.0, 1.0
    for _ in range(20):  # to 1e-6 (0.0001 points; the report prints 0.1)
        mid = (lo + hi) / 2.0
        if rule_power(n, discordance, mid, alpha=alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def rule_items_required(discordance: float, target: float, *, alpha: float = 0.05,
                        power: float = 0.8) -> int | None:
    """The smallest n at which the rule detects ``target`` with ``power`` (None beyond
    10 million items). Power is nearly but not exactly monotone in n (the counts are
    discrete); this is the first n found by doubling then bisection."""
    if target <= 0:
        raise ValueError(f"target effect must be > 0, got {target}")
    if target > 1:
        return None

    def ok(k: int) -> bool:
        return rule_power(k, discordance, target, alpha=alpha) >= power

    # start from the normal approximation, then step up by a quarter until the rule has
    # the power: a bracket [lo, hi] a quarter wide, closed by bisection
    dis = max(min(float(discordance), 1.0), target)
    guess = _z_sum(alpha, power) ** 2 * max(dis - target * target, 1e-12) / target ** 2
    hi = max(8, int(guess))
    lo = 1
    while not ok(hi):
        lo, hi = hi, int(hi * 1.25) + 1
        if hi > _RULE_MAX_ITEMS:
            return None
    if lo == 1:
        while hi > 8 and ok(hi // 2):
            hi //= 2
        lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def rule_power_summary(
    d: np.ndarray,
    *,
    design_effect: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    targets: tuple[float, ...] = DEFAULT_TARGETS,
    min_items: int = 2,
) -> dict:
    """{alpha, power, mde, items_required, method, discordance, jump, n_effective, note} for
    one comparison's paired differences ``d`` ∈ [−1, 1], for the verdict rule (module
    comment). method: "exact_binary_rule" (0/1 differences, no clusters: exact),
    "scaled_table_rule" (partial scores or clusters: the same computation on the jump-scaled
    table, an approximation), or "normal" (differences outside [−1, 1]: the formulas above).
    mde and items_required are in the units of d; items_required counts real items."""
    from evalcli.science.stats.scaled import in_unit_range, scaled_table

    d = np.asarray(d, dtype=float).ravel()
    keys = [f"{t:.3f}" for t in targets]
    out = {"alpha": alpha, "power": power, "mde": NAN,
           "items_required": dict.fromkeys(keys), "method": "exact_binary_rule",
           "discordance": NAN, "jump": NAN, "n_effective": NAN, "note": None}
    if d.size < max(min_items, 2):
        out["note"] = f"too few items for a power calculation (n < {max(min_items, 2)})"
        return out
    if not in_unit_range(d):
        se = float(d.std(ddof=1)) / math.sqrt(d.size)
        return {**out, **power_summary(se, d.size, alpha=alpha, power=power, targets=targets),
                "method": "normal"}
    deff = max(1.0, float(design_effect)) if math.isfinite(design_effect) else 1.0
    b, c, n_eff, h = scaled_table(d, deff)
    binary = bool(np.all((d == 0) | (np.abs(d) == 1))) and deff == 1.0
    n_int = max(1, int(math.floor(n_eff + 1e-9)))
    r = min(1.0, (b + c) / n_eff)
    mde = rule_mde(n_int, r, alpha=alpha, power=power)
    out.update(method="exact_binary_rule" if binary else "scaled_table_rule",
               discordance=r, jump=h, n_effective=n_eff,
               mde=min(1.0, mde * h) if math.isfinite(mde) else NAN)
    if not math.isfinite(mde):
        out["note"] = "no difference is detectable with this few items"
    for key, t in zip(keys, targets, strict=True):
        need = rule_items_required(r, t / h, alpha=alpha, power=power)
        out["items_required"][key] = None if need is None else max(2, math.ceil(need * deff - 1e-9))
    return out
