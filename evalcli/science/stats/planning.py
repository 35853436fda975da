"""Planning a run before it starts: per metric, the items needed to detect a difference at a
power, the minimum detectable effect (MDE) of the items the profile will run, and the
group-sequential design for that difference.

    spread of the paired differences (from a pilot's significance.json, or an assumption)
        discordance r, jump h, design effect ──► fixed design of the verdict rule:
            rule_mde(n / deff, r)·h           (what the report's "MDE" states)
            rule_items_required(r, δ/h)·deff  (items for δ at the power)
        second moment D = r·h² ──► gs_design.plan_design (planned maximum, expected items)

The fixed-design numbers are the report's own calculation (power.rule_power_summary: the
power of the rule "Tango's interval excludes 0 and the sign-flip p < α", exact for 0/1
scores, on the jump-scaled table otherwise), so a pilot whose spread is the full run's
predicts the full run's MDE exactly; a smaller pilot predicts it up to the noise of r and h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalcli.science.stats.gs_design import Design, plan_design
from evalcli.science.stats.intervals import NAN
from evalcli.science.stats.power import rule_items_required, rule_mde


@dataclass(frozen=True)
class Spread:
    """What the power calculation needs to know about one metric's paired differences."""

    metric: str
    discordance: float  # share of items whose score changes between the arms (scaled table)
    jump: float = 1.0  # the common size of a change (1 for 0/1 scores)
    design_effect: float = 1.0  # clustered items: variance ÷ that of independent items
    source: str = "assumption"  # "assumption", or where a pilot's numbers come from

    @property
    def second_moment(self) -> float:
        """E[d²] ≈ r·h² (exact for 0/1 scores)."""
        return self.discordance * self.jump ** 2

    @property
    def paired_sd(self) -> float:
        """The SD of d under no difference (√E[d²])."""
        return math.sqrt(self.second_moment)


# Stated assumptions when there is no pilot (docs/statistics.md, "Planning a run"):
ASSUMED: dict[str, Spread] = {
    "em": Spread("em", 0.25, 1.0, source="assumed: 25% of items change EM between the arms"),
    "f1": Spread("f1", 0.5, 0.5, source="assumed: half the items change F1, by 0.5 "
                 "(paired SD 0.35)"),
    "abstain_rate": Spread("abstain_rate", 0.10, 1.0,
                           source="assumed: 10% of items change abstaining between the arms"),
}


@dataclass(frozen=True)
class MetricPlan:
    spread: Spread
    n_items: int  # the items the profile will run
    difference: float
    power: float
    alpha: float
    mde: float  # fixed design of the verdict rule at n_items (NaN: nothing detectable)
    items_needed: int | None  # fixed design: items for `difference` at `power`
    design: Design | None  # group-sequential design planned for `difference` at `power`


def plan_metric(spread: Spread, n_items: int, *, difference: float, power: float = 0.8,
                alpha: float = 0.05, block: int = 20, min_items: int = 40,
                spending: str = "power", rho: float = 1.5) -> MetricPlan:
    """The fixed and group-sequential plans of one metric (module docstring)."""
    if not 0 < difference <= 1:
        raise ValueError(f"difference must be in (0, 1], got {difference}")
    r, h = min(1.0, max(spread.discordance, 0.0)), spread.jump
    deff = max(1.0, spread.design_effect)
    n_int = max(1, int(math.floor(n_items / deff + 1e-9)))
    mde = rule_mde(n_int, r, alpha=alpha, power=power) if r > 0 else NAN
    mde = min(1.0, mde * h) if math.isfinite(mde) else NAN
    need = rule_items_required(r, difference / h, alpha=alpha, power=power) if r > 0 else None
    items = None if need is None else max(2, math.ceil(need * deff - 1e-9))
    design = None
    if r > 0 and difference < 1:
        moment = spread.second_moment * deff
        if h == 1.0:  # 0/1 scores: a difference δ changes at least a share δ of the items
            moment = max(moment, difference * deff)
        design = plan_design(difference, moment, power=power, alpha=alpha,
                             block=block, min_items=min_items, spending=spending, rho=rho,
                             binary=h == 1.0 and deff == 1.0)
    return MetricPlan(spread, n_items, difference, power, alpha, mde, items, design)


def spread_from_power(metric: str, discordance: float | None, jump: float | None,
                      n_items: int, n_effective: float | None, source: str) -> Spread | None:
    """A pilot's spread from its significance.json power block; None when it has none."""
    if discordance is None or not math.isfinite(discordance) or discordance <= 0:
        return None
    h = jump if jump is not None and math.isfinite(jump) and jump > 0 else 1.0
    deff = 1.0
    if n_effective is not None and math.isfinite(n_effective) and n_effective > 0:
        deff = max(1.0, n_items / n_effective)
    return Spread(metric, float(discordance), float(h), deff, source)
