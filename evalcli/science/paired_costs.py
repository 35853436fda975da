"""Paired resource differences: treatment − control on the same item, with a 95% interval.

    predictions rows ──per condition: pair key (custom_id without its condition), start time,
                       prompt/total tokens, latency, worker s, CPU s, energy J──► Pairing
    Pairing.compare(treatment, control, type) ──► per measure: mean difference per unit,
                       its interval, pairs, clusters (costs.json cost_effectiveness[].paired)

Each unit of the treatment is paired with the control unit of the same item, sample,
temperature and book type, so the items' own sizes cancel. The interval is the mean of the
paired differences ± t(0.975, C − 1) × a cluster-robust standard error (Liang & Zeger 1986,
with the C/(C − 1) small-sample factor):

- **tokens** (`method = "paired_t"`): every pair is its own cluster, i.e. the ordinary paired
  t interval — a token count depends on the prompt and the answer, not on when it ran;
- **time-bound measures** — latency, worker seconds, CPU seconds, energy
  (`method = "arm_block_t"`): the clusters are the **arm blocks** in which the units ran.
  The units of the trial are put in start-time order and cut wherever the arm changes; a
  pair's cluster is (the run its control unit is in, the run its treatment unit is in).
  Whatever else the machine was doing while a block ran is shared by that block's pairs, so
  it is the blocks, not the items, that replicate: a busy neighbour during a stretch of the
  run widens the interval instead of becoming an "effect" of the arm. With the arms fully
  grouped (`[run] arm_block_items = 0`) there is one block and no interval ("not
  estimable"): time and arm cannot be told apart. Predictions without start times (made
  elsewhere) fall back to `paired_t`, and say so.

Answers reused from the answer store (`reused_from`, docs/reuse.md) keep their token counts
(a property of the answer) but have no latency, time, CPU or energy of their own: a pair
with a reused side is left out of those measures (`reused_pairs` counts them).

Memory: 8 bytes per unit per number (arrays), never a row or a dict per unit.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from typing import Any

import numpy as np

from evalcli.store.customid import format_temp, parse_custom_id
from evalcli.store.predictions import PredictionRow

# the measures compared, costs.json names; the first two are tokens (paired_t)
MEASURES = ("prompt_tokens", "total_tokens", "latency_s", "worker_seconds", "cpu_seconds",
            "energy_j")
TOKEN_MEASURES = ("prompt_tokens", "total_tokens")
CONFIDENCE = 0.95
NO_BLOCKS = ("one arm block: the arms ran one after the other, so a change in the machine "
             "cannot be told from the arm (set [run] arm_block_items > 0)")


REUSED = ("every pair has an answer reused from an earlier run (no resources of its own): "
          "only fresh units are compared")


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class _Arm:
    __slots__ = ("keys", "types", "starts", "values", "reused")

    def __init__(self) -> None:
        self.keys, self.types, self.starts = array("Q"), array("b"), array("d")
        self.reused = array("b")  # 1: answered from the answer store (no resources of its own)
        self.values = {m: array("d") for m in MEASURES}


class Pairing:
    """One trial's per-unit numbers, by condition; add() every executed row, then compare()."""

    def __init__(self) -> None:
        self._arms: dict[str, _Arm] = {}
        self._types: dict[str, int] = {}

    def add(self, row: PredictionRow, used: dict[str, Any] | None) -> None:
        try:
            cid = parse_custom_id(row.custom_id)
        except ValueError:
            return
        arm = self._arms.setdefault(row.condition or cid.condition, _Arm())
        kind = row.type or cid.type
        arm.keys.append(_hash(f"{cid.item_key}|{format_temp(cid.temp)}|{cid.sample_index}|"
                              f"{kind}"))
        arm.types.append(self._types.setdefault(kind, len(self._types)))
        start, end = row.started_at, row.ended_at
        reused = bool(row.reused_from)
        if reused:  # its latency, times and energy were its first run's: never compared
            start = end = 0.0
        arm.reused.append(reused)
        arm.starts.append(start)
        prompt, completion = row.prompt_tokens, row.completion_tokens
        known = min(prompt, completion) >= 0
        nan = math.nan
        got = {"prompt_tokens": prompt if known else nan,
               "total_tokens": prompt + completion if known else nan,
               "latency_s": nan if reused else row.latency_ms / 1000.0 or nan,
               "worker_seconds": end - start if end >= start > 0 else nan,
               "cpu_seconds": nan if reused else (row.cpu_ms or 0.0) / 1000.0 or nan,
               "energy_j": nan if reused or not used or used.get("energy_j") is None
               else float(used["energy_j"])}
        for m in MEASURES:
            arm.values[m].append(got[m])

    def _runs(self) -> dict[str, np.ndarray]:
        """Per condition, the run (arm block) each unit ran in: units of every arm in start
        order, a new run wherever the arm changes; -1 without a start time."""
        names = list(self._arms)
        starts = np.concatenate([np.frombuffer(self._arms[n].starts) if self._arms[n].starts
                                 else np.zeros(0) for n in names])
        arm_of = np.concatenate([np.full(len(self._arms[n].starts), i)
                                 for i, n in enumerate(names)])
        order = np.argsort(starts, kind="stable")
        timed = order[starts[order] > 0]
        runs = np.full(len(starts), -1)
        if len(timed):
            change = np.concatenate([[0], (np.diff(arm_of[timed]) != 0).astype(int)])
            runs[timed] = np.cumsum(change)
        out, at = {}, 0
        for n in names:
            size = len(self._arms[n].starts)
            out[n] = runs[at:at + size]
            at += size
        return out

    def compare(self, treatment: str, control: str, kind: str) -> dict[str, dict[str, Any]]:
        """Per measure: {pairs, clusters, method, mean, low, high, excludes_zero, reason[,
        note]}; {} when an arm has no unit."""
        if treatment not in self._arms or control not in self._arms:
            return {}
        runs = self._runs()
        sides = []
        for name in (treatment, control):
            arm = self._arms[name]
            keep = np.ones(len(arm.keys), bool)
            if kind in self._types:
                keep = np.frombuffer(arm.types, np.int8) == self._types[kind]
            keys = np.frombuffer(arm.keys, np.uint64) if arm.keys else np.zeros(0, np.uint64)
            sides.append((np.flatnonzero(keep), keys[keep], arm, runs[name]))
        (t_at, t_keys, t_arm, t_runs), (c_at, c_keys, c_arm, c_runs) = sides
        _, ti, ci = np.intersect1d(t_keys, c_keys, assume_unique=True, return_indices=True)
        ti, ci = t_at[ti], c_at[ci]
        # pairs with a reused answer on either side take no part in time-bound measures
        reused = (np.frombuffer(t_arm.reused, np.int8)[ti] > 0) | \
            (np.frombuffer(c_arm.reused, np.int8)[ci] > 0) if len(ti) else np.zeros(0, bool)
        fresh = ~reused
        timed = bool(fresh.any()) and bool((t_runs[ti][fresh] >= 0).all()
                                           and (c_runs[ci][fresh] >= 0).all())
        blocks = t_runs[ti] * (int(max(c_runs.max(initial=0), 0)) + 1) + c_runs[ci]
        out = {}
        for m in MEASURES:
            diff = (np.frombuffer(t_arm.values[m])[ti] - np.frombuffer(c_arm.values[m])[ci]
                    if len(ti) else np.zeros(0))
            ok = np.isfinite(diff)
            if m in TOKEN_MEASURES or not timed:
                clusters, method = np.arange(len(diff))[ok], "paired_t"
            else:
                clusters, method = blocks[ok], "arm_block_t"
            out[m] = paired_interval(diff[ok], clusters, method)
            if m not in TOKEN_MEASURES and reused.any():
                out[m]["reused_pairs"] = int(reused.sum())
                if not out[m]["pairs"]:
                    out[m]["reason"] = REUSED
            if method == "paired_t" and m not in TOKEN_MEASURES and fresh.any():
                out[m]["note"] = ("no start times: the pairs are taken as independent, drift "
                                  "in the machine is not accounted for")
        return out


def paired_interval(diff: np.ndarray, clusters: np.ndarray, method: str) -> dict[str, Any]:
    """Mean of `diff` and its 95% interval, clusters given per difference (see the module)."""
    n = len(diff)
    labels, codes = np.unique(clusters, return_inverse=True)
    c = len(labels)
    entry = {"pairs": n, "clusters": c, "method": method, "mean": None, "low": None,
             "high": None, "excludes_zero": False, "reason": ""}
    if n == 0:
        entry["reason"] = "no unit ran in both arms with this number"
        return entry
    mean = float(diff.mean())
    entry["mean"] = mean
    if c < 2:
        entry["reason"] = NO_BLOCKS if method == "arm_block_t" else "a single pair"
        return entry
    from evalcli.science.stats.dist import t_ppf

    sums = np.bincount(codes, weights=diff - mean, minlength=c)
    se = math.sqrt(c / (c - 1) * float(np.sum(sums ** 2))) / n
    half = float(t_ppf(0.5 + CONFIDENCE / 2, c - 1)) * se
    entry.update(low=mean - half, high=mean + half,
                 excludes_zero=bool(mean - half > 0 or mean + half < 0))
    return entry
