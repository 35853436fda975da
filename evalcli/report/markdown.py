"""report.md: the verdict first, then tables, discordant items, tokens and cost, failures.

A pure function of the trial artifacts (and the run's facts): it computes no statistics of
its own and never touches an engine. `build_report` turns them into sections of
paragraphs, bullet lists and tables; `render_report` writes those as Markdown and
`evalcli.report.html` as a self-contained HTML page with plots — one content, two forms.

    significance.json ──comparisons──► verdict, arm scores, paired differences,
                                        per-dataset differences, selective risk
    per-item rows + predictions + items ──► discordant items (EM ≥ threshold, as McNemar)
    costs.json (or predictions) ──────────► tokens and cost per arm
    failed prediction rows ───────────────► failed units

Every text in a Section is *marked text* (report/text.py): a safe subset of Markdown in
which data enters only through `esc` / `code`. report.md writes it as is; report.html
parses it back. Nothing a model or a dataset says can become a tag, link or image.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from evalcli.report import numbers as fmt
from evalcli.report.discordant import FAILED_SHOWN, discordant, read_units
from evalcli.report.matrix import trial_matrix
from evalcli.report.outcomes import OUTCOME_HEADERS, outcome_rows, outcome_warnings
from evalcli.report.resources import resources_blocks
from evalcli.report.sequential import report_blocks
from evalcli.report.text import bold, code, esc
from evalcli.report.verdict import LABELS, PRIMARY, VERDICT_METRICS, Verdict, verdict
from evalcli.science.costs import Costs, Usage, summarize_costs
from evalcli.science.per_item import ItemRow, ItemTable, as_table
from evalcli.science.review import Review
from evalcli.science.stats.schema import Comparison, Significance
from evalcli.store.manifest import Stopping
from evalcli.store.predictions import PredictionRow

DISCORDANT_LIMIT = 25
TEXT_LIMIT = 200


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    # str (paragraph) | list[str | Verdict] (bullets) | Table
    blocks: list = field(default_factory=list)


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Data shortened to `limit` characters and escaped (marked text)."""
    text = " ".join(str(text).split())
    return esc(text if len(text) <= limit else text[: limit - 1] + "…")


def _all_comparisons(significance: dict[str, Significance]) -> Iterator[tuple[str, Comparison]]:
    for slug, sig in significance.items():
        for comp in sig.comparisons:
            yield slug, comp


def _verdicts(significance: dict[str, Significance], control: str) -> list[Verdict]:
    out = []
    for _, comp in _all_comparisons(significance):
        if comp.dataset != "all":
            continue
        for metric in VERDICT_METRICS:
            m = comp.metrics.get(metric)
            if m is not None and m.n:
                out.append(verdict(m, metric, comp.treatment, control, comp.where()))
    return out


def _scores_table(significance: dict[str, Significance], control: str) -> Table:
    rows = []
    for slug, sig in significance.items():
        seen_control = set()
        for comp in sig.overall():
            kind, temp = comp.type, comp.temp
            arm: Literal["control", "treatment"]
            for arm, label in (("control", control), ("treatment", comp.treatment)):
                if arm == "control":
                    if (kind, temp) in seen_control:
                        continue
                    seen_control.add((kind, temp))
                cells = []
                for metric in PRIMARY:
                    m = comp.metrics.get(metric)
                    mean = None if m is None else m.arm_mean(arm)
                    cells.append("—" if m is None or mean is None else
                                 f"{fmt.pct(mean)} {fmt.ci(*m.arm_ci(arm))}")
                rows.append([esc(slug), kind, f"{temp:g}", esc(label), str(comp.n_items),
                             *cells])
    return Table(["trial", "type", "T", "condition", "n", "EM", "F1", "abstain", "false answers"],
                 rows)


def _differences_table(significance: dict[str, Significance], control: str) -> Table:
    rows = []
    for _, comp in _all_comparisons(significance):
        if comp.dataset != "all":
            continue
        kind, temp, treatment = comp.type, f"{comp.temp:g}", comp.treatment
        for metric in PRIMARY:
            m = comp.metrics.get(metric)
            if m is None or not m.n:
                continue
            tost = m.tost
            equivalent = ("—" if tost is None or tost.equivalent is None else
                          ("yes" if tost.equivalent else "no") + f" (±{100 * tost.margin:.1f})")
            rows.append([kind, temp, f"{esc(treatment)} − {esc(control)}", LABELS[metric],
                         str(m.n), fmt.pct(m.control_mean), fmt.pct(m.treatment_mean),
                         fmt.points(m.delta),
                         fmt.ci(m.ci_low, m.ci_high) if not m.ci_note else "too few items",
                         _METHODS.get(m.ci_method, esc(m.ci_method or "—")),
                         fmt.p_cell(m.p_value), fmt.p_cell(m.q_value), equivalent,
                         fmt.pct(m.power.mde if m.power else None)])
        mc = comp.mcnemar
        if mc.n_discordant:
            rows.append([kind, temp, f"{esc(treatment)} − {esc(control)}",
                         f"EM (McNemar: b={mc.b}, c={mc.c})", str(comp.n_items),
                         "", "", "", "", "", fmt.p_cell(mc.p_value), "", "", ""])
    return Table(["type", "T", "comparison", "metric", "n pairs", "control", "treatment",
                  "Δ (pts)", "95% CI", "interval", "p", "q", "TOST equivalent (± pts)",
                  "MDE (pts)"], rows)


_METHODS = {"tango_paired_score": "Tango score", "tango_paired_score_deff":
            "Tango score ÷ design effect", "tango_scaled_score": "scaled Tango score",
            "tango_scaled_score_deff": "scaled Tango score ÷ design effect",
            "paired_t": "t", "cluster_robust_t": "cluster t", "none": "none (too few items)"}


def _dataset_blocks(significance: dict[str, Significance], control: str) -> list:
    rows = []
    for _, comp in _all_comparisons(significance):
        if comp.dataset == "all":
            continue
        for metric in PRIMARY:
            m = comp.metrics.get(metric)
            if m is not None and m.n:
                rows.append([comp.type, f"{comp.temp:g}", esc(comp.dataset),
                             f"{esc(comp.treatment)} − {esc(control)}", LABELS[metric],
                             str(m.n), fmt.pct(m.control_mean), fmt.pct(m.treatment_mean),
                             fmt.points(m.delta),
                         fmt.ci(m.ci_low, m.ci_high) if not m.ci_note else "too few items",
                             fmt.p_cell(m.p_value)])
    if not rows:
        return []
    notes = []
    for sig in significance.values():
        for meta in sig.meta:
            if meta.metric not in PRIMARY:
                continue
            het, rnd = meta.heterogeneity, meta.random
            i2 = het.I2
            notes.append(f"{LABELS[meta.metric]} ({meta.type}-book, T={meta.temp:g}, "
                         f"{esc(meta.treatment)}): random-effects Δ {fmt.points(rnd.delta)} "
                         f"{fmt.ci(rnd.ci_low, rnd.ci_high)} over {meta.k} datasets; "
                         f"I² = {'—' if i2 is None or not fmt.finite(i2) else f'{100 * i2:.0f}%'}, "
                         f"heterogeneity {fmt.p_is('p', het.p_value)}")
    blocks: list = ["Exploratory: subgroup p-values are not corrected for multiple comparisons.",
                    Table(["type", "T", "dataset", "comparison", "metric", "n pairs", "control",
                           "treatment", "Δ (pts)", "95% CI", "p"], rows)]
    if notes:
        blocks += ["Meta-analysis across datasets:", notes]
    return blocks


def _selective_table(significance: dict[str, Significance], control: str) -> Table:
    rows = []
    for _, comp in _all_comparisons(significance):
        sel = comp.selective
        if comp.dataset != "all" or sel is None:
            continue
        matched = sel.matched
        for label, s, risk, delta in (
                (control, sel.control, matched.control_risk, ""),
                (comp.treatment, sel.treatment, matched.treatment_risk,
                 fmt.points(matched.delta))):
            rows.append([comp.type, f"{comp.temp:g}", esc(label), fmt.pct(s.coverage),
                         fmt.pct(s.risk), fmt.pct(matched.coverage), fmt.pct(risk), delta])
    return Table(["type", "T", "condition", "coverage", "risk", "matched coverage",
                  "risk at matched coverage", "Δ risk (pts)"], rows)


def _answer_cell(texts: list[str] | None, em: float) -> str:
    if not texts:
        return "—"
    first = clip(texts[0]) or "*(empty)*"
    if len(texts) > 1:
        return f"{first} (1 of {len(texts)} samples; mean EM {em:.2f})"
    return first


def _shown(blocks: list[dict], control: str) -> set[tuple]:
    """(item_key, condition, temp) of the answers the discordant tables show."""
    return {(key, cond, block["temp"])
            for block in blocks for name in ("control_right", "treatment_right")
            for key, _, _ in block[name][:DISCORDANT_LIMIT]
            for cond in (control, block["treatment"])}


def _discordant_blocks(discordants: dict[str, list[dict]], control, answers, items) -> list:
    blocks: list = [
        "Items where exactly one arm is right (EM ≥ the McNemar threshold, so the counts match "
        "McNemar's b and c), with both answers side by side. Read them for *why* the prompts "
        "differ; the statistics above say *whether* they do."]
    found = False
    for slug, trial_blocks in discordants.items():
        trial_answers = answers.get(slug, {})
        for block in trial_blocks:
            treatment = block["treatment"]
            where = f"{block['type']}-book, T={block['temp']:g}"
            both = (("control_right", f"{code(control)} right, {code(treatment)} wrong"),
                    ("treatment_right", f"{code(treatment)} right, {code(control)} wrong"))
            if not (block["control_right"] or block["treatment_right"]):
                continue
            found = True
            blocks.append(f"{bold(where)} — {esc(slug)}: " + "; ".join(
                f"{label}: {len(block[name])}" for name, label in both) + ".")
            for name, label in both:
                pairs = block[name]
                if not pairs:
                    continue
                table_rows = []
                for key, ctl_em, trt_em in pairs[:DISCORDANT_LIMIT]:
                    item = (items or {}).get(key)
                    question = clip(item.question) if item else "—"
                    gold = ("(unanswerable)" if item and not item.answerable else
                            clip(" / ".join(item.answers)) if item else "—")
                    table_rows.append([
                        code(key), question, gold,
                        _answer_cell(trial_answers.get((key, control, block["temp"])), ctl_em),
                        _answer_cell(trial_answers.get((key, treatment, block["temp"])), trt_em)])
                caption = f"{label} ({len(pairs)} items)"
                if len(pairs) > DISCORDANT_LIMIT:
                    caption += f" — the first {DISCORDANT_LIMIT}; all in per_item_scores.csv"
                blocks.append(Table(["item", "question", "gold", f"{esc(control)} answered",
                                     f"{esc(treatment)} answered"], table_rows, caption))
    if not found:
        blocks.append("None: on every paired item both arms are right or both are wrong.")
    return blocks


def _tokens_blocks(trials, control, treatments, costs, predictions) -> list:
    if costs is None and predictions:
        costs = {slug: summarize_costs(rows) for slug, rows in predictions.items()}
    if not costs:  # no predictions: means per answered item from the score rows
        table = Table(["trial", "type", "condition", "prompt", "completion"], [])
        for slug, rows in trials.items():
            prompt, completion = rows.num["prompt_tokens"], rows.num["completion_tokens"]
            for kind in ("open", "closed"):
                for condition in [control, *treatments]:
                    arm = ((rows.text["type"] == kind) & (rows.text["condition"] == condition)
                           & ~np.isnan(prompt))
                    if arm.any():
                        table.rows.append([esc(slug), kind, esc(condition),
                                           f"{np.mean(prompt[arm]):.1f}",
                                           f"{np.mean(completion[arm]):.1f}"])
        return ["Mean tokens per answered item.", table]
    currency = next((esc(c.pricing.currency) for c in costs.values() if c.pricing), None)
    table = Table(["trial", "condition", "type", "units", "prompt tokens", "completion tokens",
                   "total tokens", "prompt / unit", "completion / unit", "latency mean (ms)",
                   "latency p95 (ms)", f"cost ({currency})" if currency else "cost"], [])
    notes = []
    for slug, trial_costs in costs.items():
        arms = trial_costs.arms
        for condition, arm in arms.items():
            usages: list[tuple[str, Usage]] = [("all", arm), *sorted(arm.by_type.items())]
            for kind, s in usages:
                lat = s.latency_ms
                table.rows.append([
                    esc(slug), esc(condition), kind, str(s.units), f"{s.prompt_tokens:,}",
                    f"{s.completion_tokens:,}", f"{s.total_tokens:,}",
                    fmt.num(s.mean_prompt_tokens), fmt.num(s.mean_completion_tokens),
                    fmt.num(lat.mean if lat else None, 2), fmt.num(lat.p95 if lat else None, 2),
                    "—" if s.cost is None else f"{s.cost:.4f}"])
        unknown = sum(a.units_without_token_counts for a in arms.values())
        if unknown:
            notes.append(f"{esc(slug)}: {unknown} unit(s) have no token counts (the engine or the "
                         "file did not report them); they are left out of the sums, means and "
                         "cost.")
        base = arms.get(control)
        for condition, arm in arms.items():
            if condition == control or base is None or not base.mean_total_tokens:
                continue
            ratio = (arm.mean_total_tokens or 0) / base.mean_total_tokens
            notes.append(f"{esc(slug)}: {code(condition)} uses {ratio:.2f}× the tokens per unit "
                         f"of {code(control)} ({fmt.num(arm.mean_prompt_tokens)} vs "
                         f"{fmt.num(base.mean_prompt_tokens)} prompt tokens per unit).")
    head = ("A unit is one answer request (item × condition × sample); failed units count "
            "(they used tokens). " + ("Cost from the profile's [pricing] per million tokens."
                                      if currency else
                                      "No prices in the profile ([pricing]): tokens only."))
    return [head, table, *([notes] if notes else [])]


def _failure_blocks(failed_rows: list[tuple[str, PredictionRow]], n_failed: int) -> list:
    """`failed_rows`: (trial slug, row) of the first failed units; `n_failed`: all of them."""
    if not n_failed:
        return ["None: every planned unit produced an answer."]
    table = Table(["trial", "unit", "attempts", "error"], [
        [esc(slug), code(f.custom_id), esc(str(f.attempts) if f.attempts else ""),
         clip(f.error)]
        for slug, f in failed_rows[:FAILED_SHOWN]])
    blocks: list = [f"{n_failed} unit(s) failed; they are not answers and are left out "
                    "of every score.", table]
    if n_failed > FAILED_SHOWN:
        blocks.append(f"… and {n_failed - FAILED_SHOWN} more (see predictions.csv).")
    return blocks


def build_report(*, run_id: str, facts: dict,
                 trials: dict[str, ItemTable | list[ItemRow]],
                 significance: dict[str, Significance], control: str, treatments: list[str],
                 predictions: dict[str, Iterable[PredictionRow]] | None = None,
                 items: dict | None = None,
                 costs: dict[str, Costs] | None = None,
                 sequential: Stopping | None = None,
                 reviews: dict[str, Review | None] | None = None) -> list[Section]:
    """The report's sections, in reading order (see render_report for the arguments)."""
    trials = {slug: as_table(rows) for slug, rows in trials.items()}
    discordants = {slug: discordant(rows, control,
                                    significance[slug].settings.mcnemar_threshold
                                    if slug in significance else 0.5)
                   for slug, rows in trials.items()}
    seen = {slug: read_units(rows, _shown(discordants.get(slug, []), control))
            for slug, rows in (predictions or {}).items()}
    answers = {slug: units[0] for slug, units in seen.items()}
    failed_rows = [(slug, row) for slug, units in seen.items() for row in units[1]]
    n_failed = sum(units[2] for units in seen.values())
    verdicts = _verdicts(significance, control)
    bullets: list = list(verdicts) or ["No paired comparisons could be made (no scored items)."]
    if n_failed:
        bullets.append(f"{bold(f'{n_failed} unit(s) failed')} and are left out of every score "
                       "(see Failed units).")
    summary = summary_line(verdicts)
    warnings = outcome_warnings(trials)
    sections = [
        Section("verdict", "Verdict", [*(report_blocks(sequential) if sequential else []),
                                       *([warnings] if warnings else []),
                                       *([summary] if summary else []), bullets,
            "Differences are treatment − control in percentage points, paired by item. 95% "
            "CIs: Tango's score interval for 0/1 scores (widened by the design effect where "
            "items share a passage), a t interval otherwise (cluster-robust where items share "
            "a passage); p from a sign-flip permutation test, q = Benjamini–Hochberg over "
            "every comparison in the trial. A difference counts when its CI excludes 0 and "
            "q < 0.05. TOST: the 90% CI inside ± the margin of [stats] tost_margins. "
            "Details: the trial's significance.json and docs/statistics.md."]),
        Section("setup", "Setup", [[f"{bold(esc(key))}: {esc(value)}"
                                    for key, value in facts.items()]]),
        Section("scores", "Scores per condition", [
            "Mean in percent with a 95% interval (Wilson for 0/1 scores, t otherwise); "
            "n = paired items.", _scores_table(significance, control)]),
        Section("outcomes", "Responses per arm", [
            "Each response is an answer, an abstention (every sentence declines), empty "
            "(nothing left after normalisation), an echo of the prompt, or a failed unit. "
            "Empty answers and echoes score 0 on every metric. Stopped at max_tokens: "
            "responses of any kind that the engine cut at the token limit (scored as "
            "written).",
            Table(OUTCOME_HEADERS, outcome_rows(trials)),
            *_review_blocks(reviews or {})]),
        Section("differences", "Paired differences", [_differences_table(significance, control)]),
    ]
    matrix = trial_matrix(significance, control)  # a sweep only (several trials)
    if matrix:
        sections.insert(1, Section("matrix", "Per-trial matrix", [matrix[0], Table(*matrix[1:])]))
    datasets = _dataset_blocks(significance, control)
    if datasets:
        sections.append(Section("datasets", "Paired differences per dataset", datasets))
    sections += [
        Section("selective", "Selective risk", [
            "Coverage = share of items answered; risk = share of answered items that are wrong "
            "(any answer to an unanswerable item is wrong). Risk at matched coverage compares "
            "both arms on the same share of answered items — the lower arm's coverage — each "
            "keeping the items it answers most often first: it rewards being right when "
            "answering, not answering less (lower is better). AURC, which falls whenever an "
            "arm answers less, is in significance.json only.",
            _selective_table(significance, control)]),
        Section("discordant", "Discordant items",
                _discordant_blocks(discordants, control, answers, items)),
        Section("tokens", "Tokens and cost per arm",
                _tokens_blocks(trials, control, treatments, costs, predictions)),
        Section("failures", "Failed units", _failure_blocks(failed_rows, n_failed)),
    ]
    resources = resources_blocks(costs)
    if resources:
        sections.insert(-1, Section("resources", "Resources and cost-effectiveness", [
            Table(*b) if isinstance(b, tuple) else b for b in resources]))
    return sections


def _review_blocks(reviews: dict[str, Review | None]) -> list:
    """The most frequent short answers to unanswerable items that were classed as answers:
    where a refusal in words the detector does not know would show up."""
    several = len(reviews) > 1
    lines = []
    for slug, review in reviews.items():
        for condition, arm in (review.arms.items() if review else []):
            if not arm.short:
                continue
            where = f" ({esc(slug)})" if several else ""
            listed = "; ".join(f"{code(a.text)} × {a.count}" for a in arm.short)
            lines.append(f"{code(condition)}{where}, {arm.answers_on_unanswerable} answer(s) to "
                         f"unanswerable items: {listed}")
    if not lines:
        return []
    return [f"{bold('Answers to review')}: the most frequent short answers to unanswerable "
            "items that were scored as answers (each is a false answer). If one of them is a "
            "refusal, add it to [scoring] abstain_phrases and re-score without running the "
            'model: evalcli resume RUN --from score --abstain-phrase "…" (or evalcli analyze '
            '… --abstain-phrase "…"). Refusals are recognised in English (docs/scoring.md).',
            lines]


def summary_line(verdicts: list[Verdict]) -> str:
    counts = defaultdict(int)
    for v in verdicts:
        counts[v.status] += 1
    if not verdicts:
        return ""
    parts = [f"{counts[s]} {word}" for s, word in (
        ("better", "better"), ("worse", "worse"), ("different", "different (neither better nor "
                                                   "worse by itself)"),
        ("suggestive", "suggestive only"), ("none", "no detectable difference"),
        ("insufficient", "too few items")) if counts[s]]
    return f"In short, over {len(verdicts)} metric comparisons: " + ", ".join(parts) + "."


# -- Markdown ----------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    """Marked text in a table cell: one line (data `|` is already escaped by esc/code)."""
    return " ".join(str(text).split())


def sections_to_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", ""]
    for section in sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                if block.caption:
                    out += [f"*{block.caption}*", ""]
                out.append("| " + " | ".join(map(_md_cell, block.headers)) + " |")
                out.append("|" + "---|" * len(block.headers))
                out += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in block.rows]
            elif isinstance(block, list):
                out += [f"- {getattr(line, 'text', line)}" for line in block]
            else:
                out.append(block)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_report(*, run_id: str, facts: dict,
                  trials: dict[str, ItemTable | list[ItemRow]],
                  significance: dict[str, Significance], control: str, treatments: list[str],
                  predictions: dict[str, Iterable[PredictionRow]] | None = None,
                  items: dict | None = None,
                  costs: dict[str, Costs] | None = None,
                  sequential: Stopping | None = None,
                  reviews: dict[str, Review | None] | None = None) -> str:
    """Markdown for the whole run. Every mapping is keyed by trial slug: `trials` -> per-item
    rows (an ItemTable, or ItemRows), `significance` -> significance.json, `predictions` ->
    predictions rows, read once per report and never held (store.predictions.
    PredictionsFile): the answers of the discordant items shown and the failed units, `costs` ->
    costs.json. `items` maps item key (dataset|item_id) -> Item (questions and gold).
    `sequential`: run.json `stopping` of a sequential run — its anytime-valid interval and
    decision head the verdict (evalcli.report.sequential). `reviews` -> review.json (short
    answers to unanswerable items scored as answers, listed for a human to check)."""
    sections = build_report(run_id=run_id, facts=facts, trials=trials, significance=significance,
                            control=control, treatments=treatments,
                            predictions=predictions, items=items, costs=costs,
                            sequential=sequential, reviews=reviews)
    return sections_to_markdown(f"evalcli report — run {code(run_id)}", sections)
