"""Plain-word verdicts on paired differences, and the number formats reports share.

    significance.json metric block ──verdict()──► Verdict(status, one sentence with the numbers)

A difference counts when its 95% CI excludes 0 and its q (Benjamini–Hochberg) is below
0.05; one that passes only one of the two is "suggestive". Which direction is better
depends on the metric (higher EM/F1, fewer false answers; abstaining is neither).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    if not _finite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _delta(x: float | None) -> str:
    return f"{x * 100:+.1f}" if _finite(x) else "—"


def _num(x: float | None, digits: int = 1) -> str:
    return f"{x:,.{digits}f}" if _finite(x) else "—"


def where_label(comp: dict) -> str:
    where = f"{comp['type']}-book, T={comp['temp']:g}"
    return f"{comp['prompt_set']}: {where}" if comp.get("prompt_set") else where


def verdict(m: dict, metric: str, treatment: str, control: str, where: str) -> Verdict:
    """One metric of one comparison in plain words, with the numbers behind it."""
    label = f"**{LABELS[metric]}** ({where})"
    n, delta = m.get("n") or 0, m.get("delta")
    if n < 2 or not _finite(delta):
        return Verdict("insufficient", f"{label}: not enough paired items to compare ({n}).")
    lo, hi, p, q = m.get("ci_low"), m.get("ci_high"), m.get("p_value"), m.get("q_value")
    ci_excludes_zero = _finite(lo) and _finite(hi) and (lo > 0 or hi < 0)
    body = (f"{delta * 100:+.1f} points [95% CI {_ci(lo, hi)[1:-1]}], p = {_p(p)}"
            + (f" (q = {_p(q)})" if q is not None else "") + f" on {n} paired items")
    significant = q if q is not None else p
    if ci_excludes_zero and _finite(significant) and significant < 0.05:
        up, down, better = _WORDS[metric]
        words = up if delta > 0 else down
        status = "different" if better == 0 else (
            "better" if (delta > 0) == (better > 0) else "worse")
        return Verdict(status, f"{label}: `{treatment}` {words} `{control}`: {body}.")
    if _finite(p) and p < 0.05:
        return Verdict("suggestive", f"{label}: suggestive only — p < 0.05 alone, but not "
                       f"significant after correcting for the comparisons made: {body}.")
    if ci_excludes_zero:
        return Verdict("suggestive", f"{label}: suggestive only — the bootstrap interval "
                       f"excludes 0 but the permutation test does not reject: {body}.")
    return Verdict("none", f"{label}: no detectable difference between `{treatment}` and "
                   f"`{control}`: {body}.")
