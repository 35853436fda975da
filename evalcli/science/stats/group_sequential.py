"""Group-sequential boundaries with an α-spending function, their crossing probabilities, and
repeated confidence intervals: the planned stopping design of a sequential run.

    information fractions t_1 < … < t_K = n_k / n_max   (looks at complete blocks)
        ──► spent α(t_k) (Lan & DeMets 1983, Biometrika 70:659)
        ──► boundaries c_k by recursive numerical integration (Armitage, McPherson & Rowe
            1969, JRSS-A 132:235; Jennison & Turnbull 2000, "Group Sequential Methods", §19.2):
            P₀(|Z_j| < c_j for j < k, |Z_k| ≥ c_k) = α(t_k) − α(t_{k−1})
        ──► a difference at the first look with |Z_k| ≥ c_k

The statistic is the score (sign-flip) statistic of the paired differences,
Z = Σd / √(Σd² + κ) (κ = 0.1, a tenth of a full change: no division by zero, slightly
conservative) — McNemar's z for 0/1 data. On the score scale S_k = Z_k √t_k the looks are a
Brownian motion observed at t_k, with drift θ = δ·√n_max/σ under a true difference δ
(σ the SD of d); the integration carries the sub-density of S on a grid (Simpson weights,
``STEP`` apart in z units) from look to look.

Spending functions (two-sided α; ``SPENDING``):
    "obrien-fleming"  α(t) = 2·(2 − 2Φ(z_{1−α/4}/√t))      (Lan–DeMets O'Brien–Fleming-type,
                      α/2 spent on each side, as gsDesign and ldbounds do)
    "pocock"          α(t) = α·ln(1 + (e − 1)t)             (Lan–DeMets Pocock-type)
    "power"           α(t) = α·t^ρ                          (Kim & DeMets 1987; ρ = ``rho``)

The repeated confidence interval at look k (Jennison & Turnbull 1989, JRSS-B 51:305) inverts
the same test at c_k: {Δ : |Σ(d − Δ)| < c_k √Σ(d − Δ)²}, closed form
mean ± c_k·√(v/(n − c_k²)) with v = (Σd² + κ)/n − mean². Its coverage holds at every look
together, so it stays valid at whichever look the run stopped — the interval to report
for a stopped design — and an equivalence stop when it lies inside ±margin keeps the error
rate of that claim at α too.

The estimate at the stop: the plain mean of a run stopped early overstates the difference
(the rule stops on large estimates). ``median_unbiased`` gives the median-unbiased estimate
under the stagewise ordering (Jennison & Turnbull 2000, §8.4; Emerson & Fleming 1990,
Biometrika 77:875): the drift θ̂ at which P_θ(cross upwards before look k, or reach look k
with Z_k ≥ z) = ½, converted to a difference δ̂ = θ̂·√(D̂/n_max), D̂ = (Σd² + κ)/n.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import special as _sp

from evalcli.science.stats import dist as _dist

Spending = Literal["obrien-fleming", "pocock", "power"]
SPENDING: tuple[str, ...] = ("obrien-fleming", "pocock", "power")
STEP = 0.02  # grid spacing of the integration in z units (boundaries to ~1e-4)
KAPPA = 0.1  # added to Σd²: a tenth of a full 0 ↔ 1 change
MAX_Z = 8.0  # a look that spends (almost) nothing gets this boundary


def spent(t: float, alpha: float, kind: str = "obrien-fleming", rho: float = 3.0) -> float:
    """Cumulative two-sided α spent by information fraction ``t`` ∈ [0, 1]."""
    t = min(max(float(t), 0.0), 1.0)
    if t <= 0.0:
        return 0.0
    if kind == "obrien-fleming":
        return float(4.0 * _dist.norm_sf(_dist.norm_ppf(1.0 - alpha / 4.0) / math.sqrt(t)))
    if kind == "pocock":
        return float(alpha * math.log(1.0 + (math.e - 1.0) * t))
    if kind == "power":
        return float(alpha * t ** rho)
    raise ValueError(f"spending function {kind!r}: use one of {', '.join(SPENDING)}")


def _grid(c: float, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of S = Z√t inside (−c√t, c√t) and their Simpson weights."""
    m = max(2, int(math.ceil(2.0 * c / STEP)))
    m += m % 2  # Simpson needs an even number of intervals
    z = np.linspace(-c, c, m + 1)
    w = np.ones(m + 1)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    h = (2.0 * c / m) * math.sqrt(t)
    return z * math.sqrt(t), w * h / 3.0


def _cross(s: np.ndarray | None, f: np.ndarray | None, t0: float, t1: float, c: float,
           theta: float, scale: float) -> tuple[float, float]:
    """(P(up), P(down)) of crossing ±c·scale at t1 from the sub-density f (weights folded in)
    at points s of t0; s None = the start (S = 0 at t = 0)."""
    dt = t1 - t0
    b = c * scale * math.sqrt(t1)
    if s is None:
        mean = theta * t1
        return (float(_dist.norm_sf((b - mean) / math.sqrt(t1))),
                float(_dist.norm_cdf((-b - mean) / math.sqrt(t1))))
    mean = s + theta * dt
    sd = math.sqrt(dt)  # Φ by scipy.special.ndtr: what norm.sf/cdf compute, without their
    return (float(np.sum(f * _sp.ndtr(-(b - mean) / sd))),  # per-call argument checks
            float(np.sum(f * _sp.ndtr((-b - mean) / sd))))


_SQRT_2PI = np.sqrt(2 * np.pi)


def _brentq(f, lo: float, hi: float, xtol: float) -> float:
    """scipy.optimize.brentq, imported when a boundary is first solved for: the import (with
    scipy.linalg and scipy.sparse) costs a run that has no sequential design ~0.15 s."""
    from scipy.optimize import brentq

    return float(brentq(f, lo, hi, xtol=xtol))


def _phi(x: np.ndarray) -> np.ndarray:
    """The standard normal density, as scipy's norm.pdf computes it (the same floats),
    without its per-call argument handling, which cost more than the density itself here."""
    return np.exp(-x**2 / 2.0) / _SQRT_2PI


def _carry(s: np.ndarray | None, f: np.ndarray | None, t0: float, t1: float, c: float,
           theta: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The sub-density of S at t1 inside the continuation region, times its weights."""
    s1, w1 = _grid(c * scale, t1)
    if s is None:
        dens = _phi((s1 - theta * t1) / math.sqrt(t1)) / math.sqrt(t1)
    else:
        dt = t1 - t0
        sd = math.sqrt(dt)
        kernel = _phi((s1[:, None] - s[None, :] - theta * dt) / sd) / sd
        dens = kernel @ f
    return s1, dens * w1


def _fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    t = tuple(float(x) for x in fractions)
    if not t or any(b <= a for a, b in zip(t, t[1:], strict=False)) or t[0] <= 0 or t[-1] > 1 + 1e-12:
        raise ValueError(f"information fractions must increase within (0, 1], got {t}")
    return t


@functools.lru_cache(maxsize=256)
def _boundaries(t: tuple[float, ...], alpha: float, kind: str, rho: float) -> tuple[float, ...]:
    out: list[float] = []
    s: np.ndarray | None = None
    f: np.ndarray | None = None
    prev_t, prev_spent = 0.0, 0.0
    for tk in t:
        target = spent(tk, alpha, kind, rho) - prev_spent
        s0, f0, t0 = s, f, prev_t

        def excess(c: float, s0=s0, f0=f0, t0=t0, tk=tk, target=target) -> float:
            up, down = _cross(s0, f0, t0, tk, c, 0.0, 1.0)
            return up + down - target

        if target <= 1e-15 or excess(MAX_Z) > 0:
            c = MAX_Z
        else:
            c = float(_brentq(excess, 0.0, MAX_Z, xtol=1e-7))
        out.append(c)
        s, f = _carry(s0, f0, t0, tk, c, 0.0, 1.0)
        prev_t, prev_spent = tk, prev_spent + target
    return tuple(out)


def boundaries(fractions: Sequence[float], *, alpha: float = 0.05,
               spending: str = "obrien-fleming", rho: float = 3.0) -> np.ndarray:
    """Two-sided efficacy boundaries c_k (|Z_k| ≥ c_k: a difference) at the looks whose
    information fractions are ``fractions`` (the last one 1 at the planned maximum)."""
    spent(0.5, alpha, spending, rho)  # an unknown spending function is refused here
    return np.array(_boundaries(_fractions(fractions), float(alpha), spending, float(rho)))


def constant_boundary(fractions: Sequence[float], alpha: float, *, shape: str) -> np.ndarray:
    """The classical designs, for checking the integration: Pocock (1977, one constant c)
    and O'Brien & Fleming (1979, c_k = C·√(t_K/t_k)) — the C with total crossing α."""
    t = _fractions(fractions)

    def bounds(cst: float) -> np.ndarray:
        if shape == "pocock":
            return np.full(len(t), cst)
        return cst * np.sqrt(t[-1] / np.asarray(t))

    def excess(cst: float) -> float:
        return float(crossing(t, bounds(cst)).sum()) - alpha

    return bounds(float(_brentq(excess, 1.0, MAX_Z, xtol=1e-8)))


def crossing(fractions: Sequence[float], bounds: Sequence[float], *, theta: float = 0.0,
             scale: float = 1.0) -> np.ndarray:
    """P(the first crossing of ±bounds·scale is at look k), shape (K, 2): [up, down].
    ``theta``: drift of S per unit information (0 = no difference); ``scale``: the boundary
    on the canonical scale per unit of the test's z (≠ 1 when the test's standard error
    differs from the true SD, see ``design_power``)."""
    t = _fractions(fractions)
    out = np.zeros((len(t), 2))
    s: np.ndarray | None = None
    f: np.ndarray | None = None
    prev = 0.0
    for k, (tk, c) in enumerate(zip(t, bounds, strict=True)):
        out[k] = _cross(s, f, prev, tk, float(c), theta, scale)
        if k + 1 < len(t):
            s, f = _carry(s, f, prev, tk, float(c), theta, scale)
        prev = tk
    return out


def repeated_interval(d: np.ndarray, c: float) -> tuple[float, float]:
    """The repeated confidence interval for mean(d) at a look with boundary ``c`` (module
    docstring); (−1, 1) when too few items for it (n ≤ c²)."""
    d = np.asarray(d, dtype=float)
    n = d.size
    if n <= c * c:
        return -1.0, 1.0
    mean = float(d.mean())
    v = max((float(np.sum(d * d)) + KAPPA) / n - mean * mean, 0.0)
    half = c * math.sqrt(v / (n - c * c))
    return max(-1.0, mean - half), min(1.0, mean + half)


def z_statistic(d: np.ndarray) -> float:
    """Σd / √(Σd² + κ): the score statistic the boundaries are compared with."""
    d = np.asarray(d, dtype=float)
    return float(np.sum(d) / math.sqrt(float(np.sum(d * d)) + KAPPA))


def median_unbiased(fractions: Sequence[float], bounds: Sequence[float], z: float) -> float:
    """The median-unbiased drift θ̂ (E[Z_k] = θ√t_k) for a run that ended at the last of
    ``fractions`` with statistic ``z``, the earlier looks having had ``bounds`` (stagewise
    ordering, module docstring)."""
    t = _fractions(fractions)
    if z < 0:
        return -median_unbiased(t, bounds, -z)
    last = [float(b) for b in bounds[: len(t) - 1]] + [float(z)]

    def above(theta: float) -> float:
        return float(crossing(t, last, theta=theta)[:, 0].sum()) - 0.5

    centre = z / math.sqrt(t[-1])
    lo, hi = centre - 8.0 / math.sqrt(t[-1]), centre + 8.0 / math.sqrt(t[-1])
    return float(_brentq(above, lo, hi, xtol=1e-6))


def adjusted_estimate(d: np.ndarray, fractions: Sequence[float],
                      bounds: Sequence[float] | np.ndarray, n_max: int) -> float:
    """The median-unbiased difference at the look the run ended on (module docstring)."""
    d = np.asarray(d, dtype=float)
    theta = median_unbiased(fractions, bounds, z_statistic(d))
    second = (float(np.sum(d * d)) + KAPPA) / d.size
    return float(min(1.0, max(-1.0, theta * math.sqrt(second / n_max))))
