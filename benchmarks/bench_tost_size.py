"""Size of the equivalence test (TOST) when the true difference lies exactly on the margin.

    python benchmarks/bench_tost_size.py [--reps R] [--seed S]

A test of equivalence keeps its level when, with the true difference on the margin (the
least favourable point of H0: |μ| ≥ margin), it says "equivalent" in at most α = 5% of
experiments. Printed as the Markdown tables of docs/statistics.md ("Equivalence"):

- **0/1 metrics, exact**: paired outcomes with P(treatment right, control wrong) = p_b and
  P(control right, treatment wrong) = p_c, p_b − p_c = the margin (2 or 5 points). TOST depends on
  the discordant counts (b, c) only, so its size is the sum of the trinomial probabilities
  of the (b, c) where it says "equivalent" — enumerated, no Monte Carlo error. Rows: the
  score TOST evalcli uses (``tost``: the 90% Tango interval with half a pair of continuity
  correction inside ± the margin) and the t-reference TOST on the ±1/0 differences that the
  report used before; few discordant pairs (2% of items change one way; 3% / 1%; at the
  5-point margin 5% / 0%, 6% / 1%) and many (11% / 9%, 26% / 24%; 15% / 10%, 30% / 25%). Every n from 50 to 1,000 in steps of 10 is computed for the
  worst-case line; the table shows a selection.
- **F1 (k% of items change), Monte Carlo**: the model of bench_coverage.py (latent score
  μ + 0.35·Z clipped to [0, 1]; each item changes with probability k; changed items drawn at
  μ_t with correlation 0.5), with μ_t solved so that the true difference
  k·(E clip(μ_t + 0.35Z) − E clip(μ_c + 0.35Z)) is exactly the margin. ``tost`` on the
  paired differences (the jump-scaled Tango test), vectorised and checked against ``tost``
  on the first replicates.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import optimize
from scipy import stats as st

from evalcli.science.stats.equivalence import tost
from evalcli.science.stats.proportions import tango_limits
from evalcli.science.stats.scaled import JUMP_PSEUDO, TOST_CONTINUITY

ALPHA = 0.05
NS = (50, 100, 200, 300, 500, 1000)
# (margin, label, p_b, p_c): the true difference p_b − p_c is the margin
BINARY = ((0.02, "few", 0.02, 0.0), (0.02, "few", 0.03, 0.01), (0.02, "many", 0.11, 0.09),
          (0.02, "many", 0.26, 0.24), (0.05, "few", 0.05, 0.0), (0.05, "few", 0.06, 0.01),
          (0.05, "many", 0.15, 0.10), (0.05, "many", 0.30, 0.25))
F1_MODELS = ((0.02, "few", 0.05, 0.45), (0.02, "many", 0.30, 0.45),
             (0.05, "few", 0.10, 0.45), (0.05, "many", 0.30, 0.45))  # (margin, label, k, μ_c)
SD_F1, RHO = 0.35, 0.5


def _tables(n: int, p_b: float, p_c: float):
    """Every (b, c) with probability above 1e-14, and its probability."""
    b = np.arange(n + 1)
    pb = st.binom.pmf(b, n, p_b)
    b = b[pb > 1e-14]
    sd = math.sqrt(n * p_c * (1 - p_c))
    c = np.arange(max(0, math.floor(n * p_c - 12 * sd - 5)),
                  min(n, math.ceil(n * p_c + 12 * sd + 5)) + 1)
    bb, cc = np.meshgrid(b, c, indexing="ij")
    ok = bb + cc <= n
    bb, cc = bb[ok], cc[ok]
    rest = n - bb
    q = p_c / (1.0 - p_b)
    prob = st.binom.pmf(bb, n, p_b) * st.binom.pmf(cc, rest, q)
    keep = prob > 1e-16
    return bb[keep].astype(float), cc[keep].astype(float), prob[keep]


def size_score(n: int, p_b: float, p_c: float, margin: float) -> float:
    b, c, prob = _tables(n, p_b, p_c)
    lo, hi = tango_limits(n - b - c, b, c, np.zeros_like(b), 1 - 2 * ALPHA, TOST_CONTINUITY)
    eq = (lo > -margin) & (hi < margin)
    for i in np.flatnonzero(eq)[:3].tolist() + np.flatnonzero(~eq)[:3].tolist():
        d = np.r_[np.ones(int(b[i])), -np.ones(int(c[i])), np.zeros(int(n - b[i] - c[i]))]
        assert tost(d, margin, alpha=ALPHA)["equivalent"] == bool(eq[i])
    return float(np.sum(prob * eq))


def size_t(n: int, p_b: float, p_c: float, margin: float) -> float:
    """The t-reference TOST on ±1/0 differences (before): 90% t interval inside ± margin."""
    b, c, prob = _tables(n, p_b, p_c)
    mean = (b - c) / n
    var = np.maximum((b + c) - n * mean * mean, 0.0) / (n - 1)
    half = st.t.ppf(1 - ALPHA, n - 1) * np.sqrt(var / n)
    eq = (var > 0) & (mean - half > -margin) & (mean + half < margin)
    return float(np.sum(prob * eq))


def censored_mean(mu: float, sd: float = SD_F1) -> float:
    a, b = -mu / sd, (1 - mu) / sd
    return (mu * (st.norm.cdf(b) - st.norm.cdf(a)) + sd * (st.norm.pdf(a) - st.norm.pdf(b))
            + st.norm.sf(b))


def size_f1(n: int, k: float, mu_c: float, margin: float, reps: int,
            rng) -> tuple[float, float]:
    """(share called equivalent, μ_t) in the k%-change F1 model with the truth on +margin."""
    target = censored_mean(mu_c) + margin / k
    mu_t = optimize.brentq(lambda m: censored_mean(m) - target, -2.0, 4.0)
    z1 = rng.standard_normal((reps, n))
    z2 = RHO * z1 + math.sqrt(1 - RHO * RHO) * rng.standard_normal((reps, n))
    changed = rng.random((reps, n)) < k
    c = np.clip(mu_c + SD_F1 * z1, 0, 1)
    t = np.where(changed, np.clip(mu_t + SD_F1 * z2, 0, 1), c)
    d = t - c
    h = np.clip(((d * d).sum(1) + JUMP_PSEUDO) / (np.abs(d).sum(1) + JUMP_PSEUDO), 1e-12, 1)
    b = np.clip(d, 0, None).sum(1) / h
    cc = np.minimum(np.clip(-d, 0, None).sum(1) / h, n - b)
    lo, hi = tango_limits(n - b - cc, b, cc, np.zeros_like(b), 1 - 2 * ALPHA, TOST_CONTINUITY)
    eq = (lo * h > -margin) & (hi * h < margin)
    for r in range(10):
        assert tost(d[r], margin, alpha=ALPHA)["equivalent"] == bool(eq[r])
    return float(eq.mean()), mu_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40000, help="F1 experiments per cell")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    started = time.perf_counter()
    print("| 0/1 (exact) | margin = true Δ | discordant (up / down) | "
          + " | ".join(f"n={n}" for n in NS) + " | worst, n = 50…1,000 step 10 |")
    print("|" + "---|" * (4 + len(NS)))
    worst_score = 0.0
    for margin, label, p_b, p_c in BINARY:
        for name, fn in (("score TOST (evalcli)", size_score), ("t TOST (before)", size_t)):
            every = {n: fn(n, p_b, p_c, margin) for n in range(50, 1001, 10)}
            cells = [every[n] if n in every else fn(n, p_b, p_c, margin) for n in NS]
            n_max = max(every, key=every.get)
            if fn is size_score:
                worst_score = max(worst_score, every[n_max])
            print(f"| {name} | ±{100 * margin:g} pts | {label}: {100 * p_b:g}% / {100 * p_c:g}% | "
                  + " | ".join(f"{100 * v:.2f}" for v in cells)
                  + f" | {100 * every[n_max]:.2f} (n = {n_max}) |", flush=True)
    print()
    print(f"exact (enumerated trinomial probabilities, no Monte Carlo error); "
          f"{time.perf_counter() - started:.0f} s; score TOST worst cell "
          f"{100 * worst_score:.2f}% — " + ("target met (≤ 5%)" if worst_score <= ALPHA
                                            else "TARGET MISSED"))
    started = time.perf_counter()
    print()
    print("| F1 (Monte Carlo) | margin = true Δ | k changed (μ_c → μ_t) | "
          + " | ".join(f"n={n}" for n in NS) + " |")
    print("|" + "---|" * (3 + len(NS)))
    worst_f1 = 0.0
    for j, (margin, label, k, mu_c) in enumerate(F1_MODELS):
        rng = np.random.default_rng([args.seed, j])
        res = [size_f1(n, k, mu_c, margin, args.reps, rng) for n in NS]
        worst_f1 = max(worst_f1, max(v for v, _ in res))
        print(f"| score TOST (evalcli) | ±{100 * margin:g} pts | {label}: {100 * k:g}% "
              f"({mu_c:g} → {res[0][1]:.2f}) | " + " | ".join(f"{100 * v:.2f}" for v, _ in res)
              + " |", flush=True)
    sd = 100 * math.sqrt(0.05 * 0.95 / args.reps)
    print()
    print(f"replicates: {args.reps} per cell (Monte Carlo SD {sd:.2f} points at 5%); seed "
          f"{args.seed}; {time.perf_counter() - started:.0f} s; worst cell {100 * worst_f1:.2f}%"
          " — " + ("target met (≤ 5%)" if worst_f1 <= ALPHA else "TARGET MISSED"))

if __name__ == "__main__":
    main()
