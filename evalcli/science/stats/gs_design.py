"""Planning a group-sequential design: the planned maximum for a difference at a power, the
looks at complete blocks, and what the design costs and buys.

    effect δ, second moment D = E[d²], power, α, block, min_items, spending
        ──► looks = block ends from min_items on, the last = n_max
        ──► boundaries (group_sequential.boundaries, fractions n_k / n_max)
        ──► P(stop at look k | δ) (group_sequential.crossing, drift δ√n_max/σ,
            boundary scale √D/σ: the test standardises by √Σd², not by σ = √(D − δ²))
        ──► the smallest n_max (a whole number of blocks) with power ≥ the target

For 0/1 paired data D is the discordance (the share of items whose outcome differs between
the arms); for F1 and other partial scores D = mean(d²), which the pilot supplies.
``fixed_items`` is the fixed design of the same test and power (normal approximation):
√n = (z_{1−α/2}·√D + z_power·σ)/δ, and ``textbook_items`` the usual ((z + z)·σ/δ)².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalcli.science.stats import dist as _dist
from evalcli.science.stats.group_sequential import KAPPA, boundaries, crossing

MAX_PLANNED_ITEMS = 1_000_000
EXACT_MAX_ITEMS = 400  # 0/1 data: exact operating characteristics up to this maximum


@dataclass(frozen=True)
class Design:
    n_max: int
    looks: tuple[int, ...]  # item counts at which the boundary is checked
    bounds: tuple[float, ...]  # |Z| ≥ bound: a difference
    power: float  # P(a difference in the true direction | δ)
    expected_items: float  # E[items used | δ]
    p95_items: int  # 95th percentile of items used | δ
    stop_probability: tuple[float, ...]  # P(stop for a difference at look k | δ)


def looks_for(n_max: int, block: int, min_items: int) -> tuple[int, ...]:
    """Block ends at or after ``min_items``, then ``n_max`` itself (always the last look)."""
    first = max(block, int(math.ceil(min_items / block)) * block)
    looks = [n for n in range(first, n_max, block)]
    return tuple(looks + [n_max])


def operating(looks: tuple[int, ...], effect: float, second_moment: float, *,
              alpha: float = 0.05, spending: str = "power", rho: float = 1.5) -> Design:
    """The design's power, expected and 95th-percentile items at a true difference ``effect``
    with E[d²] = ``second_moment`` (normal approximation, module docstring)."""
    n_max = looks[-1]
    t = [n / n_max for n in looks]
    c = boundaries(t, alpha=alpha, spending=spending, rho=rho)
    D = max(float(second_moment), abs(effect) ** 2 + 1e-12, 1e-12)
    sigma = math.sqrt(max(D - effect * effect, 1e-12))
    probs = crossing(t, c, theta=abs(effect) * math.sqrt(n_max) / sigma,
                     scale=math.sqrt(D) / sigma)
    up = probs[:, 0]
    stop = probs.sum(axis=1)
    cont = max(0.0, 1.0 - float(stop.sum()))
    expected = float(np.dot(stop, looks)) + cont * n_max
    cum = np.cumsum(stop)
    over = np.nonzero(cum >= 0.95)[0]
    p95 = int(looks[over[0]]) if over.size else n_max
    return Design(n_max, tuple(looks), tuple(float(x) for x in c), float(up.sum()), expected,
                  p95, tuple(float(x) for x in up))


def operating_binary(looks: tuple[int, ...], effect: float, discordance: float, *,
                     alpha: float = 0.05, spending: str = "power", rho: float = 1.5) -> Design:
    """``operating`` computed exactly for paired 0/1 data: the joint distribution of the
    discordant counts (b up, c down) is carried item by item, and at each look the mass with
    |b − c| ≥ c_k·√(b + c + κ) stops — the run's statistic on the lattice, no approximation.
    Cost ~ n_max³/2 (use up to EXACT_MAX_ITEMS)."""
    n_max = looks[-1]
    t = [n / n_max for n in looks]
    c = boundaries(t, alpha=alpha, spending=spending, rho=rho)
    D = min(1.0, max(float(discordance), abs(effect)))
    p_up, p_down, p_same = (D + abs(effect)) / 2, (D - abs(effect)) / 2, 1.0 - D
    size = n_max + 1
    prob = np.zeros((size, size))
    prob[0, 0] = 1.0
    b = np.arange(size)[:, None].astype(float)
    cc = np.arange(size)[None, :].astype(float)
    s, q = b - cc, b + cc
    up_k, stop_k = [], []
    k = 0
    for n in range(1, n_max + 1):  # after n items only b, c ≤ n carry mass: update that block
        old = prob[:n, :n].copy()
        prob[:n, :n] *= p_same
        prob[1:n + 1, :n] += p_up * old
        prob[:n, 1:n + 1] += p_down * old
        if n == looks[k]:
            cross = np.abs(s) >= c[k] * np.sqrt(q + KAPPA)
            up = float(prob[cross & (s > 0)].sum())
            down = float(prob[cross & (s < 0)].sum())
            prob[cross] = 0.0
            up_k.append(up)
            stop_k.append(up + down)
            k += 1
    stop = np.asarray(stop_k)
    cont = max(0.0, 1.0 - float(stop.sum()))
    expected = float(np.dot(stop, looks)) + cont * n_max
    over = np.nonzero(np.cumsum(stop) >= 0.95)[0]
    p95 = int(looks[over[0]]) if over.size else n_max
    return Design(n_max, tuple(looks), tuple(float(x) for x in c), float(sum(up_k)), expected,
                  p95, tuple(up_k))


def plan_design(effect: float, second_moment: float, *, power: float = 0.8,
                alpha: float = 0.05, block: int = 20, min_items: int = 40,
                spending: str = "power", rho: float = 1.5,
                binary: bool = False) -> Design | None:
    """The smallest planned maximum (whole blocks) whose design reaches ``power`` at
    ``effect``; None when no maximum up to MAX_PLANNED_ITEMS does. The maximum is a whole
    number of items: the run's last block is cut there (run/plan.py). ``binary``: 0/1 scores
    (``second_moment`` is the discordance) — exact operating characteristics up to
    EXACT_MAX_ITEMS, where the normal approximation understates the power of small designs
    (at 20 points it said 80% where the run's test has 86%)."""
    if not 0 < abs(effect) <= 1:
        raise ValueError(f"effect must be in (0, 1], got {effect}")

    def design(n_max: int) -> Design:
        looks = looks_for(n_max, block, min_items)
        if binary and n_max <= EXACT_MAX_ITEMS:
            return operating_binary(looks, effect, second_moment, alpha=alpha,
                                    spending=spending, rho=rho)
        return operating(looks, effect, second_moment, alpha=alpha, spending=spending,
                         rho=rho)

    lo = max(2, min_items, fixed_items(effect, second_moment, power=power, alpha=alpha))
    hi = lo
    while design(hi).power < power:
        lo, hi = hi, int(hi * 1.1) + 1
        if hi > MAX_PLANNED_ITEMS:
            return None
    if lo == hi:
        return design(hi)
    while hi - lo > 1:  # power grows with the maximum (nearly: looks move with it)
        mid = (lo + hi) // 2
        if design(mid).power >= power:
            hi = mid
        else:
            lo = mid
    return design(hi)


def fixed_items(effect: float, second_moment: float, *, power: float = 0.8,
                alpha: float = 0.05) -> int:
    """Items of the fixed design of the same score test at ``power`` (normal approximation)."""
    D = max(float(second_moment), effect * effect)
    sigma = math.sqrt(max(D - effect * effect, 0.0))
    za, zb = _dist.norm_ppf(1.0 - alpha / 2.0), _dist.norm_ppf(power)
    return max(2, math.ceil(((za * math.sqrt(D) + zb * sigma) / abs(effect)) ** 2 - 1e-9))


def textbook_items(effect: float, second_moment: float, *, power: float = 0.8,
                   alpha: float = 0.05) -> int:
    """((z_{1−α/2} + z_power)·σ/δ)²: the fixed design as usually planned."""
    sigma = math.sqrt(max(float(second_moment) - effect * effect, 0.0))
    z = _dist.norm_ppf(1.0 - alpha / 2.0) + _dist.norm_ppf(power)
    return max(2, math.ceil((z * sigma / abs(effect)) ** 2 - 1e-9))
