"""Plain-word verdicts on paired differences.

    significance.json metric block ──verdict()──► Verdict(status, one sentence with the numbers)

A difference counts when its 95% CI excludes 0 and its q (Benjamini–Hochberg) is below
0.05; one that passes only one of the two is "suggestive". Which direction is better
depends on the metric (higher EM/F1, fewer false answers; abstaining is neither). Every
line that is not a difference says what the null means: the TOST result at the metric's
margin and the minimum detectable effect. Verdict texts are marked text (report/text.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evalcli.report import numbers as fmt
from evalcli.report.text import bold, code, esc
from evalcli.science.stats.schema import MetricStats

PRIMARY = ("em", "f1", "abstain_rate", "false_answer_rate")
VERDICT_METRICS = ("em", "f1", "abstain_rate", "false_answer_rate")
# what a user may type for a metric (--metric, gate criteria) -> its key
METRIC_NAMES = {"em": "em", "f1": "f1", "abstain": "abstain_rate",
                "abstain_rate": "abstain_rate", "false_answers": "false_answer_rate",
                "false_answer_rate": "false_answer_rate"}


def metric_key(name: str) -> str | None:
    """The key a metric name as typed stands for ("False answers" -> false_answer_rate), or
    None when it names no metric."""
    return METRIC_NAMES.get(name.strip().lower().replace(" ", "_"))


LABELS = {"em": "EM", "f1": "F1", "abstain_rate": "abstain", "false_answer_rate": "false answers",
          "unsupported_rate": "unsupported"}
# plain words for "treatment is higher/lower than control", and which direction is better
# (+1 higher, -1 lower, 0 neither): the fixed-n verdict and the sequential sentence share them
DIRECTION_WORDS = {
    "em": ("gets more answers exactly right than", "gets fewer answers exactly right than", +1),
    "f1": ("overlaps the gold answers more (F1) than", "overlaps the gold answers less (F1) than", +1),
    "abstain_rate": ("declines to answer more often than", "declines to answer less often than", 0),
    "false_answer_rate": ("gives more false answers to unanswerable questions than",
                          "gives fewer false answers to unanswerable questions than", -1),
}

Status = Literal["better", "worse", "different", "suggestive", "none", "insufficient"]


@dataclass
class Verdict:
    status: Status
    text: str


def tost_line(m: MetricStats) -> str:
    """What a null means: the equivalence test at the configured margin and the MDE."""
    tost, power = m.tost, m.power
    if tost is not None and tost.equivalent is not None and fmt.finite(tost.margin):
        margin = f"±{100 * tost.margin:.1f} points"
        ci = fmt.ci(tost.ci_low, tost.ci_high)
        level = f"{100 * tost.ci_level:.0f}%"
        line = (f"equivalent within {margin} (TOST {fmt.p_is('p', tost.p_value)}, "
                f"{level} CI {ci[1:-1]})" if tost.equivalent else
                f"not shown equivalent within {margin} (TOST {fmt.p_is('p', tost.p_value)}, "
                f"{level} CI {ci[1:-1]})")
    elif tost is not None and tost.note:
        line = f"equivalence not assessed: {tost.note}"
    else:
        line = "no equivalence margin set for this metric ([stats] tost_margins)"
    if power is not None and power.mde is not None and fmt.finite(power.mde):
        line += (f"; this experiment could miss effects smaller than {100 * power.mde:.1f} "
                 f"points (minimum detectable effect at {100 * power.power:.0f}% power)")
    elif power is not None:
        line += ("; the minimum detectable effect cannot be estimated"
                 + (f" ({power.note})" if power.note else " (more items are needed)"))
    return line[0].upper() + line[1:] + "."


def verdict(m: MetricStats, metric: str, treatment: str, control: str, where: str) -> Verdict:
    """One metric of one comparison in plain words, with the numbers behind it, then the
    TOST result and the minimum detectable effect. Names and `where` are plain text."""
    label = f"{bold(LABELS[metric])} ({esc(where)})"
    trt, ctl = code(treatment), code(control)
    pair = f"{trt} vs {ctl}"  # every wording names the two it compares (compare has many)
    n, delta = m.n, m.delta
    if n < 2 or delta is None or not fmt.finite(delta):
        return Verdict("insufficient", f"{label}: {pair}: not enough paired items to compare "
                       f"({n}).")
    lo, hi, p, q = m.ci_low, m.ci_high, m.p_value, m.q_value
    if m.ci_note:  # below the minimum n: no interval, so no verdict either way
        return Verdict("insufficient", f"{label}: {pair}: {fmt.points(delta)} points on {n} "
                       f"paired items, {m.ci_note}: no verdict.")
    ci_excludes_zero = (lo is not None and hi is not None and fmt.finite(lo)
                        and fmt.finite(hi) and (lo > 0 or hi < 0))
    body = (f"{delta * 100:+.1f} points [95% CI {fmt.ci(lo, hi)[1:-1]}], {fmt.p_is('p', p)}"
            + (f" ({fmt.p_is('q', q)})" if q is not None else "") + f" on {n} paired items")
    after = " " + tost_line(m)
    p_sig = p is not None and fmt.finite(p) and p < 0.05
    q_sig = p_sig if q is None else (fmt.finite(q) and q < 0.05)
    if ci_excludes_zero and q_sig:
        up, down, better = DIRECTION_WORDS[metric]
        words = up if delta > 0 else down
        status: Status = "different" if better == 0 else (
            "better" if (delta > 0) == (better > 0) else "worse")
        return Verdict(status, f"{label}: {trt} {words} {ctl}: {body}.{after}")
    if p_sig and not q_sig:
        return Verdict("suggestive", f"{label}: {pair}: suggestive only — p < 0.05 alone, but not "
                       f"significant after correcting for the comparisons made (q ≥ 0.05): "
                       f"{body}.{after}")
    if q_sig:
        return Verdict("suggestive", f"{label}: {pair}: suggestive only — the test rejects, but the "
                       f"95% interval includes 0: {body}.{after}")
    if ci_excludes_zero:
        return Verdict("suggestive", f"{label}: {pair}: suggestive only — the 95% interval excludes 0 "
                       f"but the permutation test does not reject: {body}.{after}")
    return Verdict("none", f"{label}: no detectable difference between {trt} and {ctl}: "
                   f"{body}.{after}")
