"""compare.md and compare.html: the comparison of several runs, in the run report's words.

    compare result (evalcli.analysis.compare) ──build_sections──► Verdict (per pair × type × metric,
        the run report's verdict wording), Runs, Items shared, Matrix (cells × metrics),
        Paired differences (Δ, CI, p, q, McNemar, TOST, MDE)
    ──► Markdown (sections_to_markdown) and one self-contained HTML page with a forest plot

A pure function of the result dict: no statistics are computed here.
"""

from __future__ import annotations

import html

from evalcli.report import numbers as fmt
from evalcli.report.html import figure, forest_point, forest_svg, html_page
from evalcli.report.markdown import Section, Table, sections_to_markdown, summary_line
from evalcli.report.text import code, esc
from evalcli.report.verdict import LABELS, Verdict, verdict
from evalcli.science.stats.schema import CompareResult, MetricStats, PairComparison


def _where(comp: PairComparison) -> str:
    where = f"{comp.type}-book"
    return where if comp.dataset == "all" else f"{where}, {comp.dataset}"


def _verdicts(result: CompareResult) -> list[Verdict]:
    out = []
    for comp in result.comparisons:
        if comp.dataset != "all":
            continue
        for metric, m in comp.metrics.items():
            if metric in LABELS and metric != "unsupported_rate" and m.n:
                out.append(verdict(m, metric, comp.treatment, comp.control, _where(comp)))
    return out


def _runs_table(result: CompareResult) -> Table:
    rows = [[code(r.label), esc(r.status), esc(r.profile), esc(r.engine),
             esc(r.model or "—"), esc(", ".join(r.prompt_sets) or "—"), str(r.items),
             esc("; ".join(t.label or t.slug for t in r.trials)),
             esc(r.source)]
            for r in result.runs]
    return Table(["run", "status", "profile", "engine", "model", "prompt sets", "items",
                  "trials", "from"], rows)


def _items_table(result: CompareResult) -> Table:
    rows = [[f"{code(o.first)} / {code(o.second)}", str(o.shared), str(o.changed),
             str(o.only_first), str(o.only_second)] for o in result.items]
    return Table(["runs", "shared items", "changed question (excluded)", "only in the first",
                  "only in the second"], rows)


def _matrix_table(result: CompareResult) -> Table:
    metrics = result.metrics
    rows = []
    for entry in result.matrix:
        cells = []
        for metric in metrics:
            m = entry.metrics.get(metric)
            cells.append("—" if m is None else f"{fmt.pct(m.mean)} {fmt.ci(m.ci_low, m.ci_high)}")
        rows.append([code(entry.run), esc(entry.trial_label or "—"),
                     esc(entry.condition), entry.type, str(entry.n_items), *cells])
    return Table(["run", "trial", "condition", "type", "n", *(LABELS[m] for m in metrics)], rows)


def _tost(m: MetricStats) -> str:
    t = m.tost
    if t is None or t.equivalent is None:
        return "—"
    word = "equivalent" if t.equivalent else "not shown equivalent"
    return f"±{100 * t.margin:.1f}: {word} (p = {fmt.p_cell(t.p_value)})"


def _differences_table(result: CompareResult) -> Table:
    rows = []
    for comp in result.comparisons:
        if comp.dataset != "all":
            continue
        mc = comp.mcnemar
        for metric, m in comp.metrics.items():
            if not m.n:
                continue
            mcn = (f"b={mc.b}, c={mc.c}, p = {fmt.p_cell(mc.p_value)}"
                   if metric == "em" else "")
            mde = m.power.mde if m.power else None
            rows.append([f"{code(comp.treatment)} − {code(comp.control)}", comp.type,
                         LABELS.get(metric, metric), str(m.n), fmt.pct(m.control_mean),
                         fmt.pct(m.treatment_mean), fmt.points(m.delta),
                         fmt.ci(m.ci_low, m.ci_high), fmt.p_cell(m.p_value),
                         fmt.p_cell(m.q_value), mcn or "—", _tost(m), fmt.pct(mde)])
    return Table(["pair (B − A)", "type", "metric", "n", "A %", "B %", "Δ points", "95% CI",
                  "p", "q", "McNemar (EM)", "TOST", "MDE points"], rows)


def build_sections(result: CompareResult) -> list[Section]:
    verdicts = _verdicts(result)
    summary = summary_line(verdicts)
    s = result.settings
    return [
        Section("verdict", "Verdict", [
            *([summary] if summary else []),
            list(verdicts) or ["No paired comparisons could be made (no scored items shared)."],
            "Each pair is B − A in percentage points, paired by item (dataset + item id, the "
            "question unchanged); 95% CIs: Tango's score interval for 0/1 scores (widened by "
            "the design effect where items share a passage), a t interval otherwise; p from a "
            f"sign-flip permutation test, q = Benjamini–Hochberg over all {s.family_size} comparisons "
            "of this page (every pair × type × metric). A difference counts when its CI "
            f"excludes 0 and q < 0.05. Statistics settings from run {code(s.stats_from)}."]),
        Section("runs", "Runs", [_runs_table(result)]),
        Section("items", "Items", [
            f"{result.common_items} item(s) are shared by every run (the matrix uses these); "
            "each pair uses the items its two runs share. An item whose question, passage or "
            "gold answers differ between runs is left out and counted as changed.",
            _items_table(result)]),
        Section("matrix", "Matrix", [
            "Mean in percent with a 95% interval (Wilson for 0/1 scores, t otherwise), per "
            "run × trial × condition and book type.", _matrix_table(result)]),
        Section("differences", "Paired differences", [
            "TOST: equivalence within ±margin (90% CI inside it); MDE: the smallest difference "
            "this many items detects with 80% power.", _differences_table(result)]),
    ]


def render_compare_md(result: CompareResult) -> str:
    labels = " vs ".join(code(r.label) for r in result.runs)
    return sections_to_markdown(f"evalcli compare — {labels}", build_sections(result))


def forest(result: CompareResult) -> str:
    rows: list[dict[str, object]] = []
    for metric in result.metrics:
        block = [forest_point(m, f"{comp.treatment} − {comp.control} · "
                                 f"{comp.type}-book (n={m.n})", m.q_value)
                 for comp in result.comparisons
                 if comp.dataset == "all" and (m := comp.metrics.get(metric)) is not None
                 and fmt.finite(m.delta)]
        if block:
            rows += [{"header": f"{LABELS.get(metric, metric)} (B − A)"}, *block]
    return forest_svg(rows)


def render_compare_html(result: CompareResult) -> str:
    sections = build_sections(result)
    plot = forest(result)
    if plot:
        sections.insert(1, Section("plots", "Forest plot", [figure(
            plot, "Paired differences B − A in percentage points with 95% intervals.")]))
    labels = " vs ".join(r.label for r in result.runs)
    return html_page(f"evalcli compare — {labels}", f"evalcli compare — {html.escape(labels)}",
                     sections)
