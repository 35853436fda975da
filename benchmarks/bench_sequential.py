"""Sequential stopping by simulation: error rate held, items saved.

    python benchmarks/bench_sequential.py [--reps R] [--seed S]

Each experiment draws paired 0/1 outcomes directly (marginals p_c, p_t, phi correlation ρ
between the arms, the model of bench_coverage.py), watches the anytime-valid confidence
sequence of evalcli.science.stats.sequential after every block of 20 items, and stops by
``decision_of`` (min 40 items, max 800, equivalence margin ±5 points, α = 0.05) — the same
functions a run with [stopping] calls. Vectorised over experiments.

Columns: the share of experiments that declared a difference in each direction, declared
equivalence or reached the maximum; the mean share of the 800 items used; the share of
correct decisions (difference in the true direction when δ ≠ 0; anything but a difference
when δ = 0); and the fixed-n design with the same power: n = ((z_{1−α/2} + z_power)·σ_d/δ)²
(normal approximation, σ_d the true SD of the paired difference), power = the sequential
design's share of correct decisions. Targets: type I ≤ 5%; ≥ 40% fewer items than that
fixed-n design at δ = 10 points.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats as st

from evalcli.science.stats.sequential import (
    decision_of,
    difference_grid,
    interval_from_rejected,
    rejected_at_looks,
)

ALPHA, MARGIN, BLOCK, MIN_ITEMS, MAX_ITEMS = 0.05, 0.05, 20, 40, 800
SCENARIOS = ((0.60, 0.60, 0.5), (0.50, 0.50, 0.0), (0.60, 0.65, 0.5), (0.60, 0.70, 0.5),
             (0.60, 0.80, 0.5))
CHUNK = 250


def cells(p_c: float, p_t: float, rho: float) -> np.ndarray:
    """(both right, only treatment right, only control right, both wrong)."""
    p11 = p_c * p_t + rho * math.sqrt(p_c * (1 - p_c) * p_t * (1 - p_t))
    return np.array([p11, p_t - p11, p_c - p11, 1 - p_t - p_c + p11])


def simulate(p_c, p_t, rho, reps, rng) -> dict:
    looks = list(range(BLOCK, MAX_ITEMS + 1, BLOCK))
    grid = difference_grid(MARGIN)
    probs = cells(p_c, p_t, rho)
    counts = {"up": 0, "down": 0, "equivalence": 0, "maximum": 0}
    used = []
    for start in range(0, reps, CHUNK):
        size = min(CHUNK, reps - start)
        kind = rng.choice(4, size=(size, MAX_ITEMS), p=probs)
        d = np.where(kind == 1, 1.0, np.where(kind == 2, -1.0, 0.0))
        lo, hi = interval_from_rejected(rejected_at_looks(d, looks, grid, alpha=ALPHA), grid)
        for e in range(size):
            for j, n in enumerate(looks):
                verdict = decision_of(lo[e, j], hi[e, j], n, margin=MARGIN,
                                      min_items=MIN_ITEMS, max_items=MAX_ITEMS)
                if verdict:
                    key = ("up" if lo[e, j] >= 0 else "down") if verdict == "difference" else verdict
                    counts[key] += 1
                    used.append(n)
                    break
    delta = p_t - p_c
    share = {k: v / reps for k, v in counts.items()}
    correct = share["up"] if delta > 0 else 1 - share["up"] - share["down"]
    sd = math.sqrt(probs[1] + probs[2] - delta**2)
    fixed = None
    if delta > 0:
        power = min(correct, 1 - 0.5 / reps)
        z = st.norm.ppf(1 - ALPHA / 2) + st.norm.ppf(power)
        fixed = math.ceil((z * sd / delta) ** 2)
    return {"share": share, "mean_used": float(np.mean(used)), "correct": correct,
            "fixed_n": fixed, "sd": sd, "delta": delta}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    print("| scenario | δ | difference (right / wrong way) | equivalence | at max | "
          "items used (mean, share of 800) | correct | fixed-n, same power | saving |")
    print("|---|---|---|---|---|---|---|---|---|")
    type_one, saving_10 = [], None
    for p_c, p_t, rho in SCENARIOS:
        r = simulate(p_c, p_t, rho, args.reps, rng)
        s = r["share"]
        if r["delta"] == 0:
            type_one.append(s["up"] + s["down"])
            diff = f"{100 * (s['up'] + s['down']):.1f}% (type I)"
            fixed = saving = "—"
        else:
            diff = f"{100 * s['up']:.1f}% / {100 * s['down']:.1f}%"
            fixed = f"{r['fixed_n']}"
            saving_value = 1 - r["mean_used"] / r["fixed_n"]
            saving = (f"{100 * saving_value:.0f}% fewer" if saving_value >= 0
                      else f"{-100 * saving_value:.0f}% more")
            if abs(r["delta"] - 0.10) < 1e-9:
                saving_10 = saving_value
        print(f"| p {p_c:.2f}→{p_t:.2f}, ρ {rho} | {100 * r['delta']:.0f} pts | {diff} | "
              f"{100 * s['equivalence']:.1f}% | {100 * s['maximum']:.1f}% | "
              f"{r['mean_used']:.0f} ({100 * r['mean_used'] / MAX_ITEMS:.0f}%) | "
              f"{100 * r['correct']:.1f}% | {fixed} | {saving} |")
    print(f"\nreplicates: {args.reps} per row; seed {args.seed}; block {BLOCK}, min {MIN_ITEMS}, "
          f"max {MAX_ITEMS}, margin ±{MARGIN}, α {ALPHA}; {time.perf_counter() - t0:.0f} s")
    ok_type_one = max(type_one) <= ALPHA
    ok_saving = saving_10 is not None and saving_10 >= 0.40
    print(f"type I (max over null rows): {100 * max(type_one):.1f}% — "
          f"{'target met' if ok_type_one else 'TARGET MISSED'} (≤ 5%)")
    print(f"saving at 10 points: {100 * saving_10:.0f}% — "
          f"{'target met' if ok_saving else 'TARGET MISSED'} (≥ 40%)")
    return 0 if ok_type_one and ok_saving else 1


if __name__ == "__main__":
    raise SystemExit(main())
