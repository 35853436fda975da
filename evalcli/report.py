"""report.md: the verdict first, then per-condition scores, paired differences, failures, tokens.

A pure function of the per-item scores (and the run's facts): it never touches an engine.

    per-item rows ──by (trial, type, condition)──► arm means + 95% CI (Wilson / t)
                 ──paired by item──► treatment − control: delta, bootstrap CI, p
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from evalcli.stats import mean_interval, paired_difference

PRIMARY = ("em", "f1", "abstain_rate", "false_answer_rate")
LABELS = {"em": "EM", "f1": "F1", "abstain_rate": "abstain", "false_answer_rate": "false answers",
          "unsupported_rate": "unsupported"}


def _pct(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f}"


def _ci(lo: float, hi: float) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "—"
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def arm_scores(rows: list[dict], metric: str) -> tuple[int, float, float, float]:
    values = np.array([r[metric] for r in rows if r.get(metric) is not None], dtype=float)
    mean, lo, hi = mean_interval(values)
    return int(values.size), mean, lo, hi


def paired(rows: list[dict], control: str, treatment: str, metric: str, seed: int,
           n_boot: int) -> dict:
    by_item: dict[str, dict[str, float]] = defaultdict(dict)
    groups: dict[str, str] = {}
    for r in rows:
        if r.get(metric) is not None:
            by_item[r["item_key"]][r["condition"]] = r[metric]
            groups[r["item_key"]] = r.get("group") or r["item_key"]
    keys = sorted(k for k, v in by_item.items() if control in v and treatment in v)
    c = np.array([by_item[k][control] for k in keys], dtype=float)
    t = np.array([by_item[k][treatment] for k in keys], dtype=float)
    clusters = [groups[k] for k in keys]
    has_shared = len(set(clusters)) < len(clusters)
    return paired_difference(c, t, n_boot=n_boot, seed=seed,
                             clusters=clusters if has_shared else None)


def verdict_line(diff: dict, metric: str, treatment: str, control: str, where: str) -> str:
    n, delta = diff["n"], diff["delta"]
    if n < 2 or not math.isfinite(delta):
        return f"- **{LABELS[metric]}** ({where}): not enough paired items to compare ({n})."
    lo, hi, p = diff["ci_low"], diff["ci_high"], diff["p_value"]
    ci_excludes_zero = math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)
    p_small = math.isfinite(p) and p < 0.05
    body = (f"{delta * 100:+.1f} points [95% CI {_ci(lo, hi)[1:-1]}], p = {_p(p)} "
            f"on {n} paired items")
    if ci_excludes_zero and p_small:
        word = "higher" if delta > 0 else "lower"
        return f"- **{LABELS[metric]}** ({where}): `{treatment}` is {word} than `{control}`: {body}."
    if ci_excludes_zero or p_small:
        return (f"- **{LABELS[metric]}** ({where}): borderline — the interval and the test "
                f"disagree: {body}.")
    return (f"- **{LABELS[metric]}** ({where}): no detectable difference between `{treatment}` "
            f"and `{control}`: {body}.")


def render_report(*, run_id: str, facts: dict, trials: dict[str, list[dict]], control: str,
                  treatments: list[str], failures: dict[str, list[dict]], seed: int = 1337,
                  n_boot: int = 2000) -> str:
    """Markdown for the whole run. `trials` maps slug -> per-item rows."""
    verdict, scores, diffs = [], [], []
    for slug, rows in trials.items():
        for kind in ("open", "closed"):
            kind_rows = [r for r in rows if r["type"] == kind]
            if not kind_rows:
                continue
            temp = kind_rows[0]["temp"]
            for condition in [control, *treatments]:
                arm = [r for r in kind_rows if r["condition"] == condition]
                cells = []
                for metric in PRIMARY:
                    n, mean, lo, hi = arm_scores(arm, metric)
                    cells.append(f"{_pct(mean)} {_ci(lo, hi)}" if n else "—")
                n_items = sum(1 for r in arm if r.get("em") is not None)
                scores.append(f"| {slug} | {kind} | {temp:g} | {condition} | {n_items} | "
                              + " | ".join(cells) + " |")
            for treatment in treatments:
                for metric in PRIMARY:
                    diff = paired(kind_rows, control, treatment, metric, seed, n_boot)
                    if diff["n"] == 0:
                        continue
                    where = f"{kind}-book, T={temp:g}"
                    if metric in ("em", "abstain_rate", "false_answer_rate"):
                        verdict.append(verdict_line(diff, metric, treatment, control, where))
                    diffs.append(
                        f"| {kind} | {temp:g} | {treatment} − {control} | {LABELS[metric]} | "
                        f"{diff['n']} | {_pct(diff['control_mean'])} | "
                        f"{_pct(diff['treatment_mean'])} | {diff['delta'] * 100:+.1f} | "
                        f"{_ci(diff['ci_low'], diff['ci_high'])} | "
                        f"{_ci(diff['clt_low'], diff['clt_high'])} | {_p(diff['p_value'])} |"
                    )
    out = [f"# evalcli report — run `{run_id}`", "", "## Verdict", ""]
    out += verdict or ["- No paired comparisons could be made (no scored items)."]
    out += ["", "Differences are treatment − control in percentage points, paired by item; "
            "95% CIs from a seeded paired bootstrap (clustered by passage where items share "
            "one); p from the paired t-test. One comparison among several: see the "
            "significance file for corrections.", "", "## Setup", ""]
    out += [f"- **{key}**: {value}" for key, value in facts.items()]
    out += ["", "## Scores per condition", "",
            "Mean in percent with a 95% interval (Wilson for 0/1 scores, t otherwise); "
            "n = items with at least one scored answer.", "",
            "| trial | type | T | condition | n | EM | F1 | abstain | false answers |",
            "|---|---|---|---|---|---|---|---|---|", *scores,
            "", "## Paired differences", "",
            "| type | T | comparison | metric | n pairs | control | treatment | Δ (pts) | "
            "95% CI (bootstrap) | 95% CI (CLT) | p |",
            "|---|---|---|---|---|---|---|---|---|---|---|", *diffs, ""]
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
