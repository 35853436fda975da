"""What each arm's responses were — answers, abstentions, empty, echoes of the prompt, answers
cut at max_tokens, failures — and the warnings the report puts first when they say the run
went wrong.

    per-item rows (n_samples, n_failed, n_empty, n_echo, n_truncated, abstain_rate)
        ──► outcome_counts: per (trial, condition) totals
        ──► outcome_table (marked text) and outcome_warnings (top of the report)

Empty and echoed answers score 0 on every metric (see docs/scoring.md); an arm with many of
them is losing to its prompt format or generation settings, not to the other prompt. An
answer cut at max_tokens (the engine's finish reason "length") is scored as written: a
treatment that makes answers longer can then lose for a format reason. The report warns when
an arm's share of cut answers is above TRUNCATED_WARNING, or when the arms of a trial differ
by at least TRUNCATED_GAP.
"""

from __future__ import annotations

import math
from collections import defaultdict

from evalcli.report.text import bold, code, esc
from evalcli.science.per_item import ItemTable

EMPTY_WARNING = 0.05  # an arm with more empty answers than this share is flagged
TRUNCATED_WARNING = 0.05  # an arm with more answers cut at max_tokens than this is flagged
TRUNCATED_GAP = 0.02  # ... and so are arms of one trial whose shares differ by this much


def outcome_counts(trials: dict[str, ItemTable]) -> dict[tuple[str, str], dict[str, float]]:
    """{(trial slug, condition): {units, scored, abstained, empty, echo, truncated, failed}}."""
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for slug, table in trials.items():
        num = table.num
        truncated_col = num.get("n_truncated")
        truncated_all = (truncated_col.tolist() if truncated_col is not None
                         else [0] * len(table.text["condition"]))
        for condition, scored, failed, empty, echo, truncated, abstain in zip(
                table.text["condition"].tolist(), num["n_samples"].tolist(),
                num["n_failed"].tolist(), num["n_empty"].tolist(), num["n_echo"].tolist(),
                truncated_all, num["abstain_rate"].tolist(), strict=True):
            c = out[(slug, condition)]
            scored, failed = int(scored), int(failed)
            c["scored"] += scored
            c["failed"] += failed
            c["units"] += scored + failed
            c["empty"] += int(empty)
            c["echo"] += int(echo)
            c["truncated"] += int(truncated)
            if not math.isnan(abstain):
                c["abstained"] += abstain * scored
    return out


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def outcome_warnings(trials: dict[str, ItemTable]) -> list[str]:
    """Marked-text warnings: arms with > EMPTY_WARNING empty answers, arms that echo, answers
    cut at max_tokens (above TRUNCATED_WARNING in an arm, or differing between arms)."""
    warnings = []
    several = len(trials) > 1
    counts = outcome_counts(trials)
    for (slug, condition), c in counts.items():
        where = f" ({esc(slug)})" if several else ""
        if c["scored"] and c["empty"] / c["scored"] > EMPTY_WARNING:
            warnings.append(
                f"{bold('Warning')}: {_share(c['empty'], c['scored'])} of {code(condition)} "
                f"answers are empty{where} ({int(c['empty'])} of {int(c['scored'])}): check the "
                "stop sequences, max_tokens and the prompt format. Empty answers score 0 on "
                "every metric; they are neither answers nor abstentions.")
        if c["echo"]:
            warnings.append(
                f"{bold('Warning')}: {_share(c['echo'], c['scored'])} of {code(condition)} "
                f"answers repeat the prompt{where} ({int(c['echo'])} of {int(c['scored'])}): "
                "check the model's prompt format (a base model wrapped in chat turns it never "
                "saw answers with its own prompt). Echoes score 0 on every metric.")
    for slug in dict.fromkeys(slug for slug, _ in counts):
        arms = {cond: c for (s, cond), c in counts.items() if s == slug and c["scored"]}
        shares = {cond: c["truncated"] / c["scored"] for cond, c in arms.items()}
        if not shares or not any(c["truncated"] for c in arms.values()):
            continue
        spread = max(shares.values()) - min(shares.values())
        if max(shares.values()) <= TRUNCATED_WARNING and spread < TRUNCATED_GAP:
            continue
        where = f" ({esc(slug)})" if several else ""
        listed = ", ".join(f"{code(cond)} {_share(c['truncated'], c['scored'])} "
                           f"({int(c['truncated'])} of {int(c['scored'])})"
                           for cond, c in arms.items())
        why = ("the arms differ" if spread >= TRUNCATED_GAP and len(shares) > 1
               else f"more than {100 * TRUNCATED_WARNING:.0f}% in an arm")
        warnings.append(
            f"{bold('Warning')}: answers stopped at max_tokens{where} — {listed}; {why}. A cut "
            "answer is scored as written, so an arm with longer answers can lose for a format "
            "reason: raise max_tokens (or ask for shorter answers) and re-run.")
    return warnings


OUTCOME_HEADERS = ["trial", "condition", "units", "answers", "abstentions", "empty",
                   "echo of the prompt", "stopped at max_tokens", "failed"]


def outcome_rows(trials: dict[str, ItemTable]) -> list[list[str]]:
    """Per arm: units, answers, abstentions, empty, echoes, cut at max_tokens (of the scored
    answers of any kind), failed (marked text cells)."""
    rows = []
    for (slug, condition), c in outcome_counts(trials).items():
        answered = c["scored"] - c["abstained"] - c["empty"] - c["echo"]
        rows.append([esc(slug), esc(condition), str(int(c["units"])),
                     f"{answered:.0f} ({_share(answered, c['scored'])})",
                     f"{c['abstained']:.0f} ({_share(c['abstained'], c['scored'])})",
                     f"{int(c['empty'])} ({_share(c['empty'], c['scored'])})",
                     f"{int(c['echo'])} ({_share(c['echo'], c['scored'])})",
                     f"{int(c['truncated'])} ({_share(c['truncated'], c['scored'])})",
                     str(int(c["failed"]))])
    return rows
