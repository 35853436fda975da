"""Exact conditional group-sequential boundaries for paired 0/1 data: can they save the
20-point, 80%-power row of bench_sequential.py (mean items 0.89x the textbook fixed design,
target 0.80x)?

    python benchmarks/bench_gs_conditional.py [--reps R] [--seed S]

The design tried (not the run's): at each look, given the discordant counts m_1 <= ... <= m_k
seen so far, the up-count of the discordant pairs is, under no difference, a fair random
walk in m whatever the discordance D. So boundaries chosen on that walk keep the type I error
at or below alpha at every D exactly (no normal approximation, no worst case over D to
guard): at look k the boundary is the smallest c on |up - down| whose exact probability of a
first crossing at k, on the walk of the m's observed, fits in alpha * t_k^rho minus what the
earlier looks spent (t_k = n_k / maximum; what a look could not spend carries forward).
For each look schedule and rho the smallest maximum with 80% power is searched; the mean
items at the planned difference are reported / 41 (the textbook fixed design).

Model as bench_sequential.py: p_c 0.60 -> 0.80, phi 0.5 (p_up 0.222, p_down 0.022, D 0.244).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

ALPHA = 0.05
P_UP, P_DOWN = 0.222, 0.022
TEXTBOOK = 41  # ((z_.975 + z_.80) * sqrt(D - delta^2) / delta)^2 rounded up, bench_sequential.py
SCHEDULES = {"every 10 from 20": (20, 10), "every 5 from 10": (10, 5), "every 5 from 20": (20, 5)}


def _fair_steps(dist: np.ndarray, steps: int) -> np.ndarray:
    """The up-count distribution after `steps` more fair +-1 steps."""
    for _ in range(steps):
        grown = np.zeros(len(dist) + 1)
        grown[:-1] += dist * 0.5
        grown[1:] += dist * 0.5
        dist = grown
    return dist


def stop_at(d: np.ndarray, looks: list[int], maximum: int, rho: float) -> tuple[int, bool]:
    """(items at the stop, whether a difference was declared) for one experiment's d."""
    walk = np.array([1.0])  # null probability of each up-count, over the paths not stopped
    seen, spent = 0, 0.0
    discordant, total = np.cumsum(d != 0), np.cumsum(d)
    for n in looks:
        m, s = int(discordant[n - 1]), int(total[n - 1])
        walk, seen = _fair_steps(walk, m - seen), m
        budget = ALPHA * (n / maximum) ** rho - spent
        stat = np.abs(2 * np.arange(m + 1) - m)
        bound, mass = None, 0.0
        for c in sorted(set(stat.tolist()), reverse=True):
            tail = float(walk[stat >= c].sum())
            if tail > budget + 1e-12:
                break
            bound, mass = c, tail
        if bound is not None:
            if abs(s) >= bound:
                return n, True
            spent += mass
            walk = walk * (stat < bound)
    return looks[-1], False


def operating(first: int, every: int, maximum: int, rho: float, reps: int,
              rng: np.random.Generator, up: float = P_UP, down: float = P_DOWN
              ) -> tuple[float, float]:
    """(share of experiments that declared a difference, mean items) by simulation."""
    looks = [*range(first, maximum, every), maximum]
    stops, crossed = [], 0
    for _ in range(reps):
        u = rng.random(maximum)
        d = np.where(u < up, 1, np.where(u < up + down, -1, 0))
        n, decided = stop_at(d, looks, maximum, rho)
        stops.append(n)
        crossed += decided
    return crossed / reps, float(np.mean(stops))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()
    print("| looks | rho | maximum (80% power) | power | mean items | mean / 41 | type I (D 0.244) |")
    print("|---|---|---|---|---|---|---|")
    for label, (first, every) in SCHEDULES.items():
        for rho in (0.75, 1.0, 1.5, 2.0):
            for maximum in range(40, 54, 2):
                power, mean = operating(first, every, maximum, rho, args.reps, rng)
                if power >= 0.80:
                    size, _ = operating(first, every, maximum, rho, args.reps, rng,
                                        up=(P_UP + P_DOWN) / 2, down=(P_UP + P_DOWN) / 2)
                    print(f"| {label} | {rho} | {maximum} | {power:.1%} | {mean:.1f} | "
                          f"{mean / TEXTBOOK:.2f} | {size:.1%} |", flush=True)
                    break
    print(f"{args.reps} experiments per design, seed {args.seed}; "
          f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
