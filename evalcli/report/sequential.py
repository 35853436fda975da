"""The wording of a sequential run's result (run.json `stopping`), for the report's headline
and the end-of-run line.

    run.json stopping {look, stopped_early, alpha, arms, design, …} ──sentence()──►
        "stopped after 176 of 800 items: treatment better, anytime-valid 95% CI
         [+4.1, +19.8] points (em, treatment - control)"
        group-sequential: "stopped at look 4 of 10, after 100 of a planned maximum of 208
         items: treatment better, repeated 95% CI [+2.0, +21.5] points (…)"

`name` formats the arm and metric names: `esc` for the reports (data never becomes markup),
`str` for the console. The text itself is ASCII, so a cp1252 console can print it.
"""

from __future__ import annotations

from collections.abc import Callable

from evalcli.report.text import bold, esc
from evalcli.report.verdict import DIRECTION_WORDS
from evalcli.science.stats.gs_design import looks_for
from evalcli.store.manifest import Stopping


def _planned_looks(stopping: Stopping) -> int:
    return len(looks_for(stopping.items_planned, stopping.block_size, stopping.min_items))


def sentence(stopping: Stopping, name: Callable[[str], str] = str) -> str:
    """One sentence: how far the run went, the decision, the anytime-valid interval."""
    look = stopping.look
    control, treatment = name(stopping.control), name(stopping.treatment)
    if look is None:
        return f"no complete block yet: no anytime-valid interval for {control} vs {treatment}"
    level = round(100 * (1 - stopping.alpha), 1)
    group = stopping.design == "group-sequential"
    how = (f"stopped after {look.items} of {look.of_items} items" if stopping.stopped_early
           else f"ran {look.items} of {look.of_items} items")
    if group and look.look_number is not None:
        at = (f"look {look.look_number} of {_planned_looks(stopping)}, after {look.items} of "
              f"a planned maximum of {look.of_items} items")
        how = f"stopped at {at}" if stopping.stopped_early else f"ended at {at}"
    if look.decision == "difference" and look.direction in ("treatment higher",
                                                            "treatment lower"):
        up, down, _ = DIRECTION_WORDS.get(stopping.metric, ("is higher than", "is lower than", 0))
        what = f"{treatment} {up if look.direction == 'treatment higher' else down} {control}"
    elif look.decision == "difference":
        what = f"{treatment if look.direction == 'treatment better' else control} better"
    elif look.decision == "equivalence":
        what = (f"{treatment} and {control} equivalent within "
                f"+/-{100 * stopping.margin:.1f} points")
    else:
        what = "no verdict within the maximum number of items"
    kind = "repeated" if group else "anytime-valid"
    estimate = f"estimate {_points(look.estimate)}"
    if group and look.adjusted_estimate is not None:
        estimate = (f"median-unbiased estimate {_points(look.adjusted_estimate)}, plain mean "
                    f"{_points(look.estimate)}")
    interval = (f"{kind} {level:g}% CI [{_points(look.lo)}, {_points(look.hi)}]"
                f" points ({name(stopping.metric)}, {treatment} - {control}; {estimate})")
    return f"{how}: {what}, {interval}"


def _points(x: float | None) -> str:
    """ASCII on purpose (a cp1252 console prints it): "+4.1", or "-" when unknown."""
    return "-" if x is None else f"{100 * x:+.1f}"


def report_blocks(stopping: Stopping) -> list[str]:
    """The top of the report's verdict section for a sequential run."""
    blocks = [bold("Sequential verdict: " + sentence(stopping, esc)) + "."]
    look = stopping.look
    if stopping.design == "group-sequential":
        bound = (f" |z| >= {look.bound:.2f} was the boundary of the look it ended on."
                 if look is not None and look.bound is not None else "")
        note = (f"Design: group-sequential with {esc(stopping.spending)} alpha-spending "
                f"(Lan & DeMets 1983), a planned maximum of {stopping.items_planned} items "
                f"and {_planned_looks(stopping)} looks (every {stopping.block_size} items "
                f"from {stopping.min_items} on); two-sided alpha {stopping.alpha:g} over all "
                f"looks.{bound} The interval is the repeated confidence interval at that look "
                "(Jennison & Turnbull 1989): its coverage holds at every look together, so it "
                "stays valid at whichever look the run stopped. The plain mean at the stop "
                "overstates the difference of a run stopped early; the median-unbiased "
                "estimate (stagewise ordering, Emerson & Fleming 1990) corrects for the "
                "stopping rule. docs/statistics.md, Sequential runs.")
    else:
        note = ("Design: anytime-valid. The interval is a betting confidence sequence "
                "(Waudby-Smith & Ramdas 2023): its coverage holds at every look, so stopping "
                "on it keeps the error rate; docs/statistics.md, Sequential runs.")
    if stopping.stopped_early:
        note += (f" The run stopped at this verdict and skipped "
                 f"{stopping.skipped_units} planned unit(s). Every p-value, q-value "
                 "and fixed-n CI below is computed on this optionally stopped sample: it does "
                 "not hold its nominal error rate — read it, and every secondary metric, as "
                 "descriptive.")
    else:
        note += (" The fixed-n statistics below cover the same items; secondary metrics are "
                 "descriptive.")
    if stopping.continued_past is not None:
        earlier = stopping.continued_past
        note += (f" The run had stopped at {esc(earlier.decision or 'no decision')} after "
                 f"{earlier.items} items and was resumed past that verdict.")
    blocks.append(note)
    return blocks
