"""report.md: the verdict first, then per-condition scores, paired differences, failures, tokens.

A pure function of significance.json and the per-item scores (and the run's facts): it
computes no statistics of its own and never touches an engine.

    significance.json ──comparisons (dataset "all")──► verdict lines, arm table, differences
    per-item rows     ──────────────────────────────► tokens per answer
"""

from __future__ import annotations

import math

import numpy as np

PRIMARY = ("em", "f1", "abstain_rate", "false_answer_rate")
LABELS = {"em": "EM", "f1": "F1", "abstain_rate": "abstain", "false_answer_rate": "false answers",
          "unsupported_rate": "unsupported"}


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


def verdict_line(m: dict, metric: str, treatment: str, control: str, where: str) -> str:
    n, delta = m.get("n") or 0, m.get("delta")
    if n < 2 or delta is None:
        return f"- **{LABELS[metric]}** ({where}): not enough paired items to compare ({n})."
    lo, hi, p, q = m.get("ci_low"), m.get("ci_high"), m.get("p_value"), m.get("q_value")
    ci_excludes_zero = lo is not None and hi is not None and (lo > 0 or hi < 0)
    body = (f"{delta * 100:+.1f} points [95% CI {_ci(lo, hi)[1:-1]}], p = {_p(p)}"
            + (f" (q = {_p(q)})" if q is not None else "") + f" on {n} paired items")
    significant = q if q is not None else p
    if ci_excludes_zero and significant is not None and significant < 0.05:
        word = "higher" if delta > 0 else "lower"
        return f"- **{LABELS[metric]}** ({where}): `{treatment}` is {word} than `{control}`: {body}."
    if ci_excludes_zero or (p is not None and p < 0.05):
        return (f"- **{LABELS[metric]}** ({where}): suggestive only, not significant after "
                f"correcting for the comparisons made: {body}.")
    return (f"- **{LABELS[metric]}** ({where}): no detectable difference between `{treatment}` "
            f"and `{control}`: {body}.")


def render_report(*, run_id: str, facts: dict, trials: dict[str, list[dict]],
                  significance: dict[str, dict], control: str, treatments: list[str],
                  failures: dict[str, list[dict]]) -> str:
    """Markdown for the whole run. `trials` maps slug -> per-item rows; `significance` maps
    slug -> the trial's significance.json (the one place statistics are computed)."""
    verdict, scores, diffs = [], [], []
    for slug, sig in significance.items():
        seen_control = set()
        for comp in sig.get("comparisons", []):
            if comp["dataset"] != "all":
                continue
            kind, temp, treatment = comp["type"], comp["temp"], comp["treatment"]
            where = f"{kind}-book, T={temp:g}"
            metrics = comp["metrics"]
            for arm, label in (("control", control), ("treatment", treatment)):
                if arm == "control" and (kind, temp) in seen_control:
                    continue
                seen_control.add((kind, temp))
                cells = []
                for metric in PRIMARY:
                    m = metrics.get(metric) or {}
                    mean = m.get(f"{arm}_mean")
                    cells.append("—" if mean is None else
                                 f"{_pct(mean)} {_ci(m.get(f'{arm}_ci_low'), m.get(f'{arm}_ci_high'))}")
                scores.append(f"| {slug} | {kind} | {temp:g} | {label} | {comp['n_items']} | "
                              + " | ".join(cells) + " |")
            for metric in PRIMARY:
                m = metrics.get(metric)
                if not m or not m.get("n"):
                    continue
                if metric in ("em", "abstain_rate", "false_answer_rate"):
                    verdict.append(verdict_line(m, metric, treatment, control, where))
                diffs.append(
                    f"| {kind} | {temp:g} | {treatment} − {control} | {LABELS[metric]} | "
                    f"{m['n']} | {_pct(m.get('control_mean'))} | {_pct(m.get('treatment_mean'))} | "
                    f"{(m.get('delta') or 0) * 100:+.1f} | {_ci(m.get('ci_low'), m.get('ci_high'))} | "
                    f"{_ci(m.get('clt_low'), m.get('clt_high'))} | {_p(m.get('p_value'))} | "
                    f"{_p(m.get('q_value'))} |")
            mc = comp.get("mcnemar") or {}
            if mc.get("n_discordant"):
                diffs.append(f"| {kind} | {temp:g} | {treatment} − {control} | EM (McNemar: "
                             f"b={mc['b']}, c={mc['c']}) | {comp['n_items']} | | | | | | "
                             f"{_p(mc.get('p_value'))} | |")
    out = [f"# evalcli report — run `{run_id}`", "", "## Verdict", ""]
    out += verdict or ["- No paired comparisons could be made (no scored items)."]
    out += ["", "Differences are treatment − control in percentage points, paired by item; "
            "95% CIs from a seeded paired bootstrap (clustered by passage where items share "
            "one); p from a sign-flip permutation test, q = Benjamini–Hochberg over every "
            "comparison in the trial. Details: the trial's significance.json and "
            "docs/statistics.md.", "", "## Setup", ""]
    out += [f"- **{key}**: {value}" for key, value in facts.items()]
    out += ["", "## Scores per condition", "",
            "Mean in percent with a 95% interval (Wilson for 0/1 scores, t otherwise); "
            "n = paired items.", "",
            "| trial | type | T | condition | n | EM | F1 | abstain | false answers |",
            "|---|---|---|---|---|---|---|---|---|", *scores,
            "", "## Paired differences", "",
            "| type | T | comparison | metric | n pairs | control | treatment | Δ (pts) | "
            "95% CI (bootstrap) | 95% CI (CLT) | p | q |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|", *diffs, ""]
    out += ["## Failed units", ""]
    failed_rows = [(slug, f) for slug, fs in failures.items() for f in fs]
    if not failed_rows:
        out.append("None: every planned unit produced an answer.")
    else:
        out += ["| trial | unit | attempts | error |", "|---|---|---|---|"]
        out += [f"| {slug} | `{f['custom_id']}` | {f.get('attempts', '')} | "
                f"{str(f.get('error', '')).replace('|', '/')} |" for slug, f in failed_rows[:50]]
        if len(failed_rows) > 50:
            out.append(f"\n… and {len(failed_rows) - 50} more (see predictions.csv).")
    out += ["", "## Tokens per answer", "", "| trial | type | condition | prompt | completion |",
            "|---|---|---|---|---|"]
    for slug, rows in trials.items():
        for kind in ("open", "closed"):
            for condition in [control, *treatments]:
                arm = [r for r in rows if r["type"] == kind and r["condition"] == condition
                       and r.get("prompt_tokens") is not None]
                if arm:
                    prompt = np.mean([r["prompt_tokens"] for r in arm])
                    completion = np.mean([r["completion_tokens"] for r in arm])
                    out.append(f"| {slug} | {kind} | {condition} | {prompt:.1f} | {completion:.1f} |")
    return "\n".join(out) + "\n"
