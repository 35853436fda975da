"""Plain-word verdicts on paired differences, and the number formats reports share.

    significance.json metric block ──verdict()──► Verdict(status, one sentence with the numbers)

A difference counts when its 95% CI excludes 0 and its q (Benjamini–Hochberg) is below
0.05; one that passes only one of the two is "suggestive". Which direction is better
depends on the metric (higher EM/F1, fewer false answers; abstaining is neither). Every
line that is not a difference says what the null means: the TOST result at the metric's
margin and the minimum detectable effect. Verdict texts are marked text (report/text.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalcli.report.text import bold, code, esc

PRIMARY = ("em", "f1", "abstain_rate", "false_answer_rate")
VERDICT_METRICS = ("em", "f1", "abstain_rate", "false_answer_rate")
LABELS = {"em": "EM", "f1": "F1", "abstain_rate": "abstain", "false_answer_rate": "false answers",
          "unsupported_rate": "unsupported"}
# plain words for "treatment is higher/lower than control", and which direction is better
_WORDS = {
    "em": ("gets more answers exactly right than", "gets fewer answers exactly right than", +1),
    "f1": ("overlaps the gold answers more (F1) than", "overlaps the gold answers less (F1) than", +1),
    "abstain_rate": ("declines to answer more often than", "declines to answer less often than", 0),
    "false_answer_rate": ("gives more false answers to unanswerable questions than",
                          "gives fewer false answers to unanswerable questions than", -1),
}
@dataclass
class Verdict:
    status: str  # better | worse | different | suggestive | none | insufficient
    text: str


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def _pct(x: float | None) -> str:
    return f"{100 * x:.1f}" if _finite(x) else "—"


def _ci(lo: float | None, hi: float | None) -> str:
    if not (_finite(lo) and _finite(hi)):
        return "—"
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def _p(p: float | None) -> str:
    """A p or q value for a table cell: "< 0.001" or "0.123"."""
    if not _finite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_is(name: str, p: float | None) -> str:
    """"p < 0.001" or "p = 0.123" (never "p = < 0.001")."""
    cell = _p(p)
    return f"{name} {cell}" if cell.startswith("<") else f"{name} = {cell}"


def _delta(x: float | None) -> str:
    return f"{x * 100:+.1f}" if _finite(x) else "—"


def _num(x: float | None, digits: int = 1) -> str:
    return f"{x:,.{digits}f}" if _finite(x) else "—"


def where_label(comp: dict) -> str:
    """Plain text (callers escape it): "open-book, T=0" or "set: open-book, T=0"."""
    where = f"{comp['type']}-book, T={comp['temp']:g}"
    return f"{comp['prompt_set']}: {where}" if comp.get("prompt_set") else where


def tost_line(m: dict) -> str:
    """What a null means: the equivalence test at the configured margin and the MDE."""
    tost, power = m.get("tost"), m.get("power") or {}
    if tost and tost.get("equivalent") is not None and _finite(tost.get("margin")):
        margin = f"±{100 * tost['margin']:.1f} points"
        ci = _ci(tost.get("ci_low"), tost.get("ci_high"))
        level = f"{100 * (tost.get('ci_level') or 0.9):.0f}%"
        line = (f"equivalent within {margin} (TOST {p_is('p', tost.get('p_value'))}, "
                f"{level} CI {ci[1:-1]})" if tost["equivalent"] else
                f"not shown equivalent within {margin} (TOST {p_is('p', tost.get('p_value'))}, "
                f"{level} CI {ci[1:-1]})")
    elif tost and tost.get("se") == 0.0:
        line = ("equivalence not assessed: the paired differences never varied, so they "
                "estimate no spread")
    else:
        line = "no equivalence margin set for this metric ([stats] tost_margins)"
    mde = power.get("mde")
    if _finite(mde):
        line += (f"; this experiment could miss effects smaller than {100 * mde:.1f} points "
                 f"(minimum detectable effect at {100 * (power.get('power') or 0.8):.0f}% power)")
    elif power:
        line += ("; the minimum detectable effect cannot be estimated (the paired differences "
                 "never varied: more items are needed)")
    return line[0].upper() + line[1:] + "."


def verdict(m: dict, metric: str, treatment: str, control: str, where: str) -> Verdict:
    """One metric of one comparison in plain words, with the numbers behind it, then the
    TOST result and the minimum detectable effect. Names and `where` are plain text."""
    label = f"{bold(LABELS[metric])} ({esc(where)})"
    trt, ctl = code(treatment), code(control)
    n, delta = m.get("n") or 0, m.get("delta")
    if n < 2 or not _finite(delta):
        return Verdict("insufficient", f"{label}: not enough paired items to compare ({n}).")
    lo, hi, p, q = m.get("ci_low"), m.get("ci_high"), m.get("p_value"), m.get("q_value")
    ci_excludes_zero = _finite(lo) and _finite(hi) and (lo > 0 or hi < 0)
    body = (f"{delta * 100:+.1f} points [95% CI {_ci(lo, hi)[1:-1]}], {p_is('p', p)}"
            + (f" ({p_is('q', q)})" if q is not None else "") + f" on {n} paired items")
    after = " " + tost_line(m)
    p_sig = _finite(p) and p < 0.05
    q_sig = p_sig if q is None else (_finite(q) and q < 0.05)
    if ci_excludes_zero and q_sig:
        up, down, better = _WORDS[metric]
        words = up if delta > 0 else down
        status = "different" if better == 0 else (
            "better" if (delta > 0) == (better > 0) else "worse")
        return Verdict(status, f"{label}: {trt} {words} {ctl}: {body}.{after}")
    if p_sig and not q_sig:
        return Verdict("suggestive", f"{label}: suggestive only — p < 0.05 alone, but not "
                       f"significant after correcting for the comparisons made (q ≥ 0.05): "
                       f"{body}.{after}")
    if q_sig:
        return Verdict("suggestive", f"{label}: suggestive only — the test rejects, but the "
                       f"95% interval includes 0: {body}.{after}")
    if ci_excludes_zero:
        return Verdict("suggestive", f"{label}: suggestive only — the 95% interval excludes 0 "
                       f"but the permutation test does not reject: {body}.{after}")
    return Verdict("none", f"{label}: no detectable difference between {trt} and {ctl}: "
                   f"{body}.{after}")
