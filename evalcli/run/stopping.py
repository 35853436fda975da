"""The stopping monitor of a sequential run: complete blocks → interval → decision.

    finished units ──record()──► per block: done? ──prefix of complete blocks──►
        score_rows (the scoring the report uses) ──► per-item d = treatment − control
        ──► design "anytime": confidence_sequence (looks = block ends) ──► decision_of
            design "group-sequential": z vs the α-spending boundary of this look, repeated
            CI (science/stats/group_sequential.py) ──► gs_decision
        ──► Look

A block counts when every unit of it is finished (ok or failed); only the prefix of
complete blocks is used, since blocks are handed out in order. An item whose control or
treatment has no successful sample has no paired value and is left out of the stream
(it is counted in `dropped`). Pure bookkeeping: no processes, testable alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from evalcli.errors import ConfigError
from evalcli.science.per_item import prompt_texts, score_rows
from evalcli.science.stats.group_sequential import (
    adjusted_estimate,
    boundaries,
    repeated_interval,
    z_statistic,
)
from evalcli.science.stats.sequential import confidence_sequence, decision_of
from evalcli.store.manifest import Decision, Direction, LookRecord
from evalcli.store.predictions import PredictionRow

if TYPE_CHECKING:
    from evalcli.inputs.config import ScoringConfig, StoppingConfig
    from evalcli.run.plan import Plan


@dataclass(frozen=True)
class Look:
    blocks: int  # complete blocks used
    items: int  # paired items in the stream
    of_items: int  # planned items (the maximum)
    control_mean: float
    treatment_mean: float
    estimate: float
    lo: float
    hi: float
    decision: Decision | None  # None: go on
    dropped: int = 0
    # the metric's better direction: True = higher is better (EM, F1); None = neither
    # (abstaining more is not better or worse by itself)
    higher_is_better: bool | None = True
    look_number: int | None = None  # group-sequential: the look (from min_items on)
    bound: float | None = None  # group-sequential: |z| ≥ bound is a difference
    z: float | None = None
    adjusted: float | None = None  # group-sequential, at a decision: median-unbiased estimate

    @property
    def direction(self) -> Direction:
        if self.decision != "difference":
            return ""
        higher = self.lo >= 0
        if self.higher_is_better is None:
            return "treatment higher" if higher else "treatment lower"
        return "treatment better" if higher == self.higher_is_better else "control better"

    def record(self) -> LookRecord:
        """The look as run.json and events.jsonl keep it (NaN/inf: None)."""
        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return LookRecord(blocks=self.blocks, items=self.items, of_items=self.of_items,
                          control_mean=num(self.control_mean),
                          treatment_mean=num(self.treatment_mean), estimate=num(self.estimate),
                          lo=num(self.lo), hi=num(self.hi), decision=self.decision,
                          dropped=self.dropped, direction=self.direction,
                          look_number=self.look_number, bound=self.bound,
                          adjusted_estimate=None if self.adjusted is None
                          else num(self.adjusted))


class StoppingMonitor:
    def __init__(self, plan: Plan, stopping: StoppingConfig, scoring: ScoringConfig) -> None:
        if len(plan.trials) != 1:
            raise ConfigError(f"stopping: a sequential run compares one trial; this plan has "
                              f"{len(plan.trials)} (temperatures × prompt sets × models × "
                              "sampling sweeps) — keep one of each, or remove [stopping]")
        conditions = plan.prompt_sets[0].conditions
        missing = [arm for arm in stopping.arms if arm not in conditions]
        if missing:
            raise ConfigError(f"stopping.arms: {', '.join(missing)} is not a condition of the "
                              f"prompt set (conditions: {', '.join(conditions)})")
        self.plan, self.stopping, self.scoring = plan, stopping, scoring
        self._block_units: list[set[str]] = [set() for _ in plan.blocks]
        for unit in plan.units:
            self._block_units[unit.block].add(unit.custom_id)
        self._results: dict[str, PredictionRow] = {}
        self.last: Look | None = None

    def record(self, custom_id: str, status: Literal["ok", "failed"], text: str = "") -> None:
        """A finished unit (resumed runs: every result already on disk)."""
        self._results[custom_id] = PredictionRow(custom_id=custom_id, status=status,
                                                 response_text=text)

    def complete_blocks(self) -> int:
        count = 0
        for units in self._block_units:
            if not units <= self._results.keys():
                break
            count += 1
        return count

    def look(self) -> Look | None:
        """The interval and decision over the complete blocks; None before the first block."""
        blocks = self.complete_blocks()
        if blocks == 0:
            return None
        if self.last is not None and self.last.blocks == blocks:
            return self.last
        plan, s = self.plan, self.stopping
        prompts = plan.prompt_sets[0]
        done = set().union(*self._block_units[:blocks])
        scored = score_rows([self._results[cid] for cid in sorted(done)],
                            plan.items.keyed(), self.scoring,
                            extra_phrases=[prompts.abstain_phrase],
                            echo_texts=prompt_texts(prompts))
        value = {(row.item_key, row.condition): row.metric(s.metric) for row in scored}
        control: list[float] = []
        treatment: list[float] = []
        looks: list[int] = []
        dropped = 0
        for block in plan.blocks[:blocks]:
            for index in block:
                key = plan.items[index].key
                c, t = value.get((key, s.control)), value.get((key, s.treatment))
                if c is None or t is None or c != c or t != t:
                    dropped += 1
                    continue
                control.append(float(c))
                treatment.append(float(t))
            if control and (not looks or looks[-1] < len(control)):
                looks.append(len(control))
        if not control:
            return None
        d = np.asarray(treatment) - np.asarray(control)
        all_blocks = blocks == len(plan.blocks)
        higher = None if s.metric == "abstain_rate" else True
        if s.design == "group-sequential":
            self.last = self._group_sequential_look(blocks, d, looks, all_blocks, control,
                                                    treatment, dropped, higher)
            return self.last
        row = confidence_sequence(d, looks, alpha=s.alpha, margin=s.margin)[-1]
        limit = len(plan.order) if all_blocks else s.max_items or len(plan.order)
        decision = decision_of(row["lo"], row["hi"], len(d), margin=s.margin,
                               min_items=s.min_items, max_items=limit)
        if decision is None and all_blocks:
            decision = "maximum"
        self.last = Look(blocks, len(d), len(plan.order), float(np.mean(control)),
                         float(np.mean(treatment)), row["estimate"], row["lo"], row["hi"],
                         decision, dropped,
                         higher_is_better=higher)
        return self.last

    def _group_sequential_look(self, blocks: int, d: np.ndarray, looks: list[int],
                               all_blocks: bool, control: list[float], treatment: list[float],
                               dropped: int, higher: bool | None) -> Look:
        """z against this look's α-spending boundary; the repeated CI at that boundary."""
        s = self.stopping
        n_max = len(self.plan.order)
        analysed = [n for n in looks if n >= s.min_items]
        if all_blocks and (not analysed or analysed[-1] != looks[-1]):
            analysed.append(looks[-1])  # the last look is always one (it spends what is left)
        fractions = [min(n / n_max, 1.0) for n in analysed]
        if all_blocks:
            fractions[-1] = 1.0
        fractions = _increasing(fractions)
        number: int | None = len(fractions)
        if not fractions:  # before min_items: the interval the first look would give
            fractions, number = [min(len(d) / n_max, 1.0)], None
        bounds = boundaries(fractions, alpha=s.alpha, spending=s.spending, rho=s.rho)
        bound = float(bounds[-1])
        z = z_statistic(d)
        lo, hi = repeated_interval(d, bound)
        decision = gs_decision(z, bound, lo, hi, looked=number is not None,
                               margin=s.margin, last=all_blocks)
        adjusted = (adjusted_estimate(d, fractions, bounds, n_max) if decision is not None
                    else None)
        return Look(blocks, len(d), n_max, float(np.mean(control)), float(np.mean(treatment)),
                    float(np.mean(d)), lo, hi, decision, dropped, higher_is_better=higher,
                    look_number=number, bound=bound, z=z, adjusted=adjusted)


def _increasing(fractions: list[float]) -> list[float]:
    """Fractions made strictly increasing (a final look forced to 1 right after a look at
    nearly 1 keeps both)."""
    out: list[float] = []
    for t in fractions:
        if out and t <= out[-1]:
            if t < 1.0:
                continue
            out[-1] = min(out[-1], 1.0 - 1e-9)
        out.append(t)
    return out


def gs_decision(z: float, bound: float, lo: float, hi: float, *, looked: bool, margin: float,
                last: bool) -> Decision | None:
    """The group-sequential decision at a look: a difference when |z| ≥ the boundary,
    equivalence when the repeated CI lies inside ±margin, the maximum at the last look."""
    if not looked:
        return None
    if abs(z) >= bound:
        return "difference"
    if margin > 0 and lo >= -margin and hi <= margin:
        return "equivalence"
    return "maximum" if last else None


def progress_line(look: Look, metric: str) -> str:
    """One plain progress line: the running difference and its anytime-valid (or repeated)
    interval."""
    kind = "anytime-valid CI" if look.bound is None else "repeated CI"
    text = (f"{metric}: control {100 * look.control_mean:.1f}, treatment "
            f"{100 * look.treatment_mean:.1f}, difference {100 * look.estimate:+.1f} points, "
            f"{kind} [{100 * look.lo:+.1f}, {100 * look.hi:+.1f}] after "
            f"{look.items} of {look.of_items} items")
    if look.bound is not None and look.z is not None:
        text += (f", z {look.z:+.2f} (a difference at |z| >= {look.bound:.2f}"
                 + (f", look {look.look_number})" if look.look_number else ", no look yet)"))
    if look.decision:
        text += f" — {look.decision}" + (f" ({look.direction})" if look.direction else "")
    return text
