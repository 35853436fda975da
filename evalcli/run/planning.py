"""`evalcli plan` and the design a sequential run shows before its first unit.

    profile ──build_setup (mock engine: nothing is loaded or written)──► items per type
    --pilot RUN ──trials' significance.json power blocks──► Spread per (metric, comparison)
        (no pilot: planning.ASSUMED, labelled as assumptions)
    ──science.stats.planning.plan_metric──► lines: fixed design (the report's verdict rule)
        and the group-sequential design for the difference

`schedule_lines` is what `evalcli run` prints before the first unit of a sequential run:
the design, the planned maximum, and per look what a stop there means.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from evalcli.errors import ConfigError
from evalcli.science.stats.group_sequential import boundaries
from evalcli.science.stats.gs_design import looks_for, operating
from evalcli.science.stats.planning import (
    ASSUMED,
    MetricPlan,
    Spread,
    plan_metric,
    spread_from_power,
)

METRICS = ("em", "f1", "abstain_rate")


def planning_report(profile: str, *, pilot: str | None, runs_dir: Path, difference: float,
                    power: float, limit_items: int | None = None) -> list[str]:
    from evalcli.inputs.config import StoppingConfig, load_profile, replace_engine, replace_run
    from evalcli.run.pipeline import build_setup
    from evalcli.store.rundir import RunDir, new_run_id

    loaded = load_profile(profile)
    prof = replace_engine(loaded.profile, name="mock", options={})
    if limit_items is not None:
        prof = replace_run(prof, limit_items=limit_items)
    setup = build_setup(loaded, prof, RunDir(runs_dir, new_run_id()))
    stopping = prof.stopping or StoppingConfig()
    per_type = Counter(item.type for item in setup.items)
    if prof.stopping is not None:  # a sequential run plans at most max_items items
        per_type = Counter({t: min(n, len(setup.plan.order)) for t, n in per_type.items()})
    alpha = stopping.alpha
    spreads = _pilot_spreads(pilot, runs_dir) if pilot else None
    lines = [f"plan for {loaded.source}: a difference of {100 * difference:g} points at "
             f"{100 * power:g}% power, alpha {alpha:g} (two-sided)"]
    if spreads is None:
        lines.append("no --pilot: the spread of the paired differences is ASSUMED (below); "
                     "plan from a finished run with --pilot RUN_ID for numbers you can trust")
    for kind, n_items in sorted(per_type.items()):
        for treatment in setup.treatments:
            lines.append(f"{treatment} vs {setup.control}, {kind}-book, {n_items} items:")
            for metric in METRICS:
                spread = (spreads or {}).get((metric, treatment, setup.control, kind))
                if spreads is not None and spread is None:
                    lines.append(f"  {metric}: the pilot has no spread for it (no item "
                                 "changed between the arms): nothing to plan from")
                    continue
                spread = spread or ASSUMED[metric]
                mp = plan_metric(spread, n_items, difference=difference, power=power,
                                 alpha=alpha, block=stopping.block_size,
                                 min_items=stopping.min_items, spending=stopping.spending,
                                 rho=stopping.rho)
                lines += metric_lines(mp)
    lines.append("fixed design: the report's verdict rule (Tango's interval excludes 0 and "
                 "the sign-flip p < alpha) — its MDE is the report's; group-sequential: "
                 "[stopping] design = \"group-sequential\" with max_items = the planned "
                 "maximum (docs/statistics.md, Planning a run)")
    return lines


def metric_lines(mp: MetricPlan) -> list[str]:
    s = mp.spread
    what = (f"discordance {100 * s.discordance:.1f}%" if s.jump == 1.0
            else f"paired SD {s.paired_sd:.3f} (changes of {s.jump:.2f} on "
                 f"{100 * s.discordance:.1f}% of items)")
    if s.design_effect > 1.0:
        what += f", design effect {s.design_effect:.2f}"
    mde = "nothing detectable" if not math.isfinite(mp.mde) else f"{100 * mp.mde:.1f} points"
    need = "more than 10 million" if mp.items_needed is None else f"{mp.items_needed}"
    out = [f"  {s.metric}: {what} [{s.source}]",
           f"    fixed design: MDE at {mp.n_items} items = {mde}; "
           f"{need} items to detect {100 * mp.difference:g} points at {100 * mp.power:g}% power"]
    d = mp.design
    if d is not None:
        out.append(f"    group-sequential: planned maximum {d.n_max} items, {len(d.looks)} "
                   f"looks; at a true {100 * mp.difference:g} points: power "
                   f"{100 * d.power:.1f}%, {d.expected_items:.0f} items on average, 95th "
                   f"percentile {d.p95_items}")
    return out


def _pilot_spreads(run_id: str, runs_dir: Path) -> dict[tuple[str, str, str, str], Spread]:
    from evalcli.science.stats.schema import read_significance
    from evalcli.store.runinfo import load_manifest, open_run

    rd = open_run(runs_dir, run_id)
    manifest = load_manifest(rd)
    out: dict[tuple[str, str, str, str], Spread] = {}
    found = False
    for slug in manifest.trials:
        path = rd.significance(slug)
        if not path.is_file():
            continue
        found = True
        for comp in read_significance(path).overall():
            for metric, stats in comp.metrics.items():
                p = stats.power
                if p is None:
                    continue
                spread = spread_from_power(metric, p.discordance, p.jump, comp.n_items,
                                           p.n_effective,
                                           f"pilot {run_id}: {comp.n_items} items")
                key = (metric, comp.treatment, comp.control, comp.type)
                if spread is not None and key not in out:
                    out[key] = spread
    if not found:
        raise ConfigError(f"--pilot {run_id}: the run has no significance.json yet — finish it "
                          f"(evalcli resume {run_id}) or give a finished run")
    return out


def schedule_lines(plan, stopping, second_moment: float = ASSUMED["em"].second_moment,
                   assumed: bool = True) -> list[str]:
    """Before the first unit of a sequential run: the design, the planned maximum, and what
    a stop at each look would mean."""
    n_max = len(plan.order)
    s = stopping
    note = "assumed discordance" if assumed else "discordance"
    if s.design != "group-sequential":
        out = [f"sequential run (anytime-valid): planned maximum {n_max} items, a look after "
               f"every {s.block_size} items from {s.min_items} on; a stop at any look means "
               f"the anytime-valid {100 * (1 - s.alpha):g}% interval of {s.metric} excludes 0 "
               f"(difference) or lies within +/-{100 * s.margin:g} points (equivalence); "
               "its error rate holds whenever it stops"]
        looks = [n for n in looks_for(n_max, s.block_size, s.min_items)]
        for k, (n, half) in enumerate(zip(looks, _anytime_half_widths(looks, second_moment,
                                                                       s.alpha), strict=True), 1):
            out.append(f"  look {k}: {n} items — about a {100 * half:.1f}-point {s.metric} "
                       f"difference at {100 * second_moment:.0f}% {note}")
        return out
    looks = looks_for(n_max, s.block_size, s.min_items)
    c = boundaries([n / n_max for n in looks], alpha=s.alpha, spending=s.spending, rho=s.rho)
    out = [f"sequential run (group-sequential, {s.spending_label} alpha-spending): planned maximum "
           f"{n_max} items, {len(looks)} looks; a stop at look k means |z| >= the bound "
           f"(a difference, two-sided alpha {s.alpha:g} over all looks)"
           + (f" or the repeated CI inside +/-{100 * s.margin:g} points (equivalence)"
              if s.margin > 0 else "")]
    for k, (n, bound) in enumerate(zip(looks, c, strict=True), 1):
        needed = bound * math.sqrt(second_moment / n)
        out.append(f"  look {k}: {n} items, bound |z| >= {bound:.2f} — about a "
                   f"{100 * needed:.1f}-point {s.metric} difference at "
                   f"{100 * second_moment:.0f}% {note}")
    for effect in (0.05, 0.10, 0.20):
        d = operating(looks, effect, max(second_moment, effect), alpha=s.alpha,
                      spending=s.spending, rho=s.rho)
        out.append(f"  a true {100 * effect:g}-point difference: power {100 * d.power:.0f}%, "
                   f"{d.expected_items:.0f} items on average")
    return out


def _anytime_half_widths(looks: list[int], discordance: float, alpha: float) -> list[float]:
    """The half-width of the anytime-valid interval at each look for a stream with no
    difference and the given discordance (changes spread evenly): about the difference a
    stop there needs."""
    import numpy as np

    from evalcli.science.stats.sequential import confidence_sequence

    n = looks[-1]
    share = min(max(discordance, 1e-3), 1.0)
    # +1 and −1 changes alternating, at evenly spaced items (a share `share` of them)
    marks = np.floor(np.arange(1, n + 1) * share) - np.floor(np.arange(n) * share)
    sign = np.where(np.cumsum(marks) % 2 == 1, 1.0, -1.0)
    d = marks * sign
    return [(row["hi"] - row["lo"]) / 2 for row in confidence_sequence(d, looks, alpha=alpha)]
