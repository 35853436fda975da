"""`evalcli gate`: pass or fail a finished run against criteria written in the report's words,
for CI (docs/ci.md).

    significance.json (typed) ──non_inferior / not_worse──┐
    per_item_scores.csv ──outcome counts (empty, cut)──────┼──► [Check] ──► lines, JUnit XML,
    run.json trials ──failed units──────────────────────────┘              Markdown summary

Statistics of the gate (docs/ci.md):
- **non-inferiority** (preferred): "treatment not worse than control on EM by more than M
  points" passes when, in every comparison of the run (treatment × book type × temperature,
  all items), the 95% interval's bound on the worse side stays inside M — a one-sided test at
  2.5%. An underpowered run has a wide interval and FAILS: the gate passes only when the data
  show the treatment is not worse. Several comparisons and criteria must all pass (an
  intersection–union test), which needs no multiplicity correction to keep the chance of
  passing a truly worse treatment at 2.5% per criterion.
- **not worse**: fails when the report's verdict for the metric is "worse" (the 95% interval
  excludes 0 on the worse side and q < 0.05, Benjamini–Hochberg over the trial's family). It
  PASSES an underpowered run — use it as a tripwire, not as evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from evalcli.inputs.config import GateConfig
from evalcli.report.outcomes import outcome_counts
from evalcli.report.verdict import DIRECTION_WORDS, LABELS, verdict
from evalcli.science.per_item import ItemTable
from evalcli.science.stats.schema import Significance
from evalcli.store.manifest import Manifest

GATE_FAILED = 6  # the exit code of a run that does not meet its criteria (docs/cli.md)


@dataclass
class Check:
    name: str  # the criterion, in the report's words
    passed: bool
    figure: str  # the number it was decided on, and where


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def non_inferior(significance: dict[str, Significance], metric: str, margin: float) -> Check:
    """`margin` in points. The worse-side bound of every overall comparison inside it."""
    better = DIRECTION_WORDS[metric][2]
    name = (f"treatment not worse than control on {LABELS[metric]} by more than "
            f"{margin:g} points")
    worst: tuple[float, str] | None = None
    for slug, sig in significance.items():
        for comp in sig.overall():
            m = comp.metrics.get(metric)
            if m is None or not m.n:
                continue
            where = f"{comp.where()}, {comp.treatment} − {comp.control}" + (
                f" [{slug}]" if len(significance) > 1 else "")
            bound = m.ci_low if better > 0 else m.ci_high
            if bound is None or not math.isfinite(bound):
                why = m.ci_note or "no interval"
                return Check(name, False, f"{where}: {why} — the run cannot show it")
            worse_by = -bound if better > 0 else bound  # how far into the worse side
            if worst is None or worse_by > worst[0]:
                worst = (worse_by, f"{where}: 95% CI bound {_pts(bound)} points")
    if worst is None:
        return Check(name, False, f"no comparison scores {LABELS[metric]}")
    return Check(name, worst[0] < margin / 100.0, worst[1])


def not_worse(significance: dict[str, Significance], metric: str) -> Check:
    name = f"{LABELS[metric]} not significantly worse"
    worse, seen = [], 0
    for sig in significance.values():
        for comp in sig.overall():
            m = comp.metrics.get(metric)
            if m is None or not m.n:
                continue
            seen += 1
            v = verdict(m, metric, comp.treatment, comp.control, comp.where())
            if v.status == "worse":
                worse.append(f"{comp.where()}: {_pts(m.delta or 0.0)} points, "
                             f"q = {m.q_value if m.q_value is not None else float('nan'):.3f}")
    if worse:
        return Check(name, False, "; ".join(worse))
    return Check(name, True, f"{seen} comparison(s), none significantly worse (an "
                 "underpowered run passes this: prefer non-inferiority)")


def no_failed_units(manifest: Manifest) -> Check:
    failed = sum(t.failed for t in manifest.trials.values())
    units = sum(t.planned for t in manifest.trials.values())
    return Check("no failed units", failed == 0, f"{failed} of {units} unit(s) failed")


def max_share(trials: dict[str, ItemTable], what: str, limit_pct: float) -> Check:
    """`what`: "truncated" (answers cut at max_tokens) or "empty"."""
    words = {"truncated": "answers stopped at max_tokens", "empty": "empty answers"}[what]
    name = f"at most {limit_pct:g}% {words} in every arm"
    worst, where = 0.0, "no scored answers"
    for (slug, condition), c in outcome_counts(trials).items():
        if c["scored"]:
            share = 100.0 * c[what] / c["scored"]
            if share >= worst:
                worst = share
                where = (f"{condition}" + (f" [{slug}]" if len(trials) > 1 else "")
                         + f": {share:.1f}% ({int(c[what])} of {int(c['scored'])})")
    return Check(name, worst <= limit_pct, where)


def evaluate(gate: GateConfig, *, significance: dict[str, Significance],
             trials: dict[str, ItemTable], manifest: Manifest) -> list[Check]:
    """One Check per criterion of `gate`, in a fixed order."""
    checks = [non_inferior(significance, metric, margin)
              for metric, margin in gate.non_inferior.items()]
    checks += [not_worse(significance, metric) for metric in gate.not_worse]
    if gate.no_failed_units:
        checks.append(no_failed_units(manifest))
    if gate.max_truncated_pct is not None:
        checks.append(max_share(trials, "truncated", gate.max_truncated_pct))
    if gate.max_empty_pct is not None:
        checks.append(max_share(trials, "empty", gate.max_empty_pct))
    return checks


def lines(checks: list[Check]) -> list[str]:
    return [f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.figure}" for c in checks]


def junit_xml(checks: list[Check], run_id: str) -> str:
    """One <testcase> per criterion; a failed one carries a <failure> with its figure."""
    failures = sum(not c.passed for c in checks)
    cases = []
    for c in checks:
        body = "" if c.passed else (f"<failure message={quoteattr(c.figure)}>"
                                    f"{escape(c.figure)}</failure>")
        cases.append(f'    <testcase classname={quoteattr(f"evalcli.gate.{run_id}")} '
                     f"name={quoteattr(c.name)}>{body}</testcase>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites><testsuite name={quoteattr(f"evalcli gate {run_id}")} '
            f'tests="{len(checks)}" failures="{failures}" errors="0">\n'
            + "\n".join(cases) + "\n</testsuite></testsuites>\n")


def markdown_summary(checks: list[Check], run_id: str) -> str:
    passed = all(c.passed for c in checks)
    head = (f"### evalcli gate — run `{run_id}`: "
            f"{'passed' if passed else 'FAILED'} ({sum(c.passed for c in checks)} of "
            f"{len(checks)} criteria met)\n\n| | criterion | figure |\n|---|---|---|\n")
    rows = "".join(f"| {'✅' if c.passed else '❌'} | {_cell(c.name)} | {_cell(c.figure)} |\n"
                   for c in checks)
    return head + rows


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
