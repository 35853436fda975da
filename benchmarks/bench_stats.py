"""Benchmark: statistics for 10,000 paired items with 10,000 bootstrap resamples.

Not a test. Prints seconds for each piece and for a whole build_significance call
(two conditions, one temp, one type, five metrics, 10,000 bootstrap resamples and
10,000 sign flips per metric). Run: python benchmarks/bench_stats.py [n_items] [n_boot]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from evalcli.science.per_item import ItemRow
from evalcli.science.stats import (
    hodges_lehmann,
    paired_difference,
    sign_flip_test,
    wilcoxon_signed_rank,
)
from evalcli.science.stats.significance import build_significance


def _rows(n: int, rng: np.random.Generator) -> list[ItemRow]:
    rows = []
    for cond, p in (("control", 0.55), ("treatment", 0.58)):
        em = (rng.random(n) < p).astype(float)
        abst = (rng.random(n) < 0.1).astype(float)
        unans = np.arange(n) % 3 == 0
        for i in range(n):
            rows.append(
                ItemRow(
                    item_key=f"squad|{i}",
                    dataset="squad",
                    type="open",
                    group=f"passage{i // 4}",
                    condition=cond,
                    temp=0.0,
                    n_samples=1,
                    em=float(em[i]),
                    f1=float(em[i]),
                    abstain_rate=float(abst[i]),
                    false_answer_rate=1.0 - float(abst[i]) if unans[i] else None,
                    unsupported_rate=None if abst[i] else float(rng.random() < 0.2),
                )
            )
    return rows


def _time(label: str, fn) -> float:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:<55s} {dt:8.3f} s")
    return dt


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    b = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    rng = np.random.default_rng(0)
    c = (rng.random(n) < 0.55).astype(float)
    t = np.where(rng.random(n) < 0.8, c, 1.0 - c)
    d = t - c
    groups = np.arange(n) // 4
    print(f"n_items = {n}, resamples = {b}")
    _time("paired_difference (bootstrap + CLT)", lambda: paired_difference(c, t, n_boot=b))
    _time(
        "paired_difference, clustered", lambda: paired_difference(c, t, n_boot=b, clusters=groups)
    )
    _time("sign_flip_test", lambda: sign_flip_test(d, n_perm=b))
    _time("wilcoxon_signed_rank", lambda: wilcoxon_signed_rank(d))
    _time("hodges_lehmann (0/±1 deltas)", lambda: hodges_lehmann(d))
    _time("hodges_lehmann (continuous deltas)", lambda: hodges_lehmann(rng.normal(size=n)))
    rows = _rows(n, rng)
    _time(
        "build_significance (5 metrics, clustered, B = perms)",
        lambda: build_significance(rows, control="control", n_boot=b, n_perm=b),
    )


if __name__ == "__main__":
    main()
