"""report.html: report.md's content as one self-contained page, plus plots drawn as inline SVG.

    build_report(...) sections ──► HTML (inline CSS, no JavaScript, no external file)
    significance.json ──────────► forest plot of paired differences (per metric × dataset),
                                  per-arm scores with intervals, risk–coverage per arm
                                  (inserted before the discordant items)
    telemetry.jsonl, costs.json ─► resource plots (report/resource_plots.py): utilisation and
                                  VRAM over time per GPU, tokens and energy per arm — a section
                                  only when there is something to draw

Section texts are marked text (report/text.py), parsed by `to_html`: data is escaped, only
the report's own marks become tags. Plot labels are plain text, escaped here. The page opens
offline in any browser.
"""

from __future__ import annotations

import html
import math
from typing import Literal

from evalcli.report.markdown import Section, Table, build_report
from evalcli.report.resource_plots import arm_bars, gpu_plots, legend_entry
from evalcli.report.text import to_html
from evalcli.report.verdict import LABELS, PRIMARY, Verdict
from evalcli.science.costs import Costs
from evalcli.science.review import Review
from evalcli.science.stats.schema import Comparison, MetricStats, Selective, Significance
from evalcli.store.manifest import Stopping
from evalcli.store.telemetry import GpuSample

PALETTE = ("#1f77b4", "#e6550d", "#31a354", "#756bb1", "#d6616b", "#8c6d31")
WIDTH, LABEL_W, ROW_H, PAD = 920, 300, 22, 30

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #333;padding-bottom:.3rem}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
h3{font-size:1.05rem}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px;font-size:.92em}
.wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}
th,td{border:1px solid #d0d0d0;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f3f7}
tr:nth-child(even) td{background:#fafafa}
caption{text-align:left;font-style:italic;padding:.2rem 0}
ul.verdict{list-style:none;padding-left:0}
ul.verdict li{border-left:6px solid #bbb;padding:.35rem .6rem;margin:.3rem 0;background:#f7f7f7}
ul.verdict li.better{border-color:#2ca02c;background:#eef8ee}
ul.verdict li.worse{border-color:#d62728;background:#fbeeee}
ul.verdict li.different{border-color:#1f77b4;background:#eef4fb}
ul.verdict li.suggestive{border-color:#ff9f1c;background:#fff6e8}
figure{margin:1rem 0}
figcaption{font-size:.85rem;color:#444}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:12px}
"""


def _inline(marked: str) -> str:
    """Marked text (report/text.py) as HTML: its data is escaped, only its marks become tags."""
    return to_html(str(marked))


def _table(table: Table) -> str:
    head = "".join(f"<th>{_inline(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                   for row in table.rows)
    caption = f"<caption>{_inline(table.caption)}</caption>" if table.caption else ""
    return f'<div class="wrap"><table>{caption}<thead><tr>{head}</tr></thead>' \
           f"<tbody>{body}</tbody></table></div>"


def _block(block) -> str:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, list):
        verdicts = any(isinstance(b, Verdict) for b in block)
        items = "".join(
            f'<li class="{b.status}">{_inline(b.text)}</li>' if isinstance(b, Verdict)
            else f"<li>{_inline(b)}</li>" for b in block)
        return f'<ul class="verdict">{items}</ul>' if verdicts else f"<ul>{items}</ul>"
    if block.startswith("<figure"):
        return block
    return f"<p>{_inline(block)}</p>"


# -- SVG ---------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _finite(*xs) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = hi - lo or 1.0
    raw = span / n
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * step:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def dot_whisker(rows: list[dict], *, lo: float, hi: float, zero: float | None,
                axis_label: str, legend: list[tuple[str, str]] | None = None) -> str:
    """Horizontal estimates with interval whiskers. A row: {label, est, lo, hi, color} or
    {header}. Values on the axis scale (e.g. points or percent)."""
    if hi <= lo:
        hi = lo + 1.0
    longest = max((len(r["label"]) for r in rows if "label" in r), default=10)
    label_w = min(max(LABEL_W // 2, 12 + int(6.6 * longest)), WIDTH // 2)
    plot_w = WIDTH - label_w - PAD
    height = PAD + ROW_H * len(rows) + 45 + (18 if legend else 0)

    def x(v: float) -> float:
        return label_w + (min(max(v, lo), hi) - lo) / (hi - lo) * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    bottom = PAD + ROW_H * len(rows)
    for t in _ticks(lo, hi):
        parts.append(f'<line x1="{_fmt(x(t))}" y1="{PAD - 8}" x2="{_fmt(x(t))}" y2="{bottom}" '
                     'stroke="#e5e5e5"/>')
        parts.append(f'<text x="{_fmt(x(t))}" y="{bottom + 16}" text-anchor="middle" '
                     f'fill="#444">{t:g}</text>')
    parts.append(f'<text x="{_fmt(label_w + plot_w / 2)}" y="{bottom + 34}" '
                 f'text-anchor="middle" fill="#222">{html.escape(axis_label)}</text>')
    if zero is not None and lo <= zero <= hi:
        parts.append(f'<line x1="{_fmt(x(zero))}" y1="{PAD - 8}" x2="{_fmt(x(zero))}" '
                     f'y2="{bottom}" stroke="#555" stroke-dasharray="4 3"/>')
    for i, row in enumerate(rows):
        y = PAD + ROW_H * i + ROW_H / 2
        if "header" in row:
            parts.append(f'<text x="6" y="{_fmt(y + 4)}" font-weight="bold" '
                         f'fill="#111">{html.escape(row["header"])}</text>')
            continue
        parts.append(f'<text x="{label_w - 8}" y="{_fmt(y + 4)}" text-anchor="end" '
                     f'fill="#222">{html.escape(row["label"])}</text>')
        color = row.get("color", "#333")
        if _finite(row.get("lo"), row.get("hi")):
            parts.append(f'<line x1="{_fmt(x(row["lo"]))}" y1="{_fmt(y)}" '
                         f'x2="{_fmt(x(row["hi"]))}" y2="{_fmt(y)}" stroke="{color}" '
                         'stroke-width="2"/>')
            for end in (row["lo"], row["hi"]):
                parts.append(f'<line x1="{_fmt(x(end))}" y1="{_fmt(y - 5)}" x2="{_fmt(x(end))}" '
                             f'y2="{_fmt(y + 5)}" stroke="{color}" stroke-width="2"/>')
        if _finite(row.get("est")):
            shape = row.get("shape", "circle")
            cx = _fmt(x(row["est"]))
            if shape == "square":
                parts.append(f'<rect x="{float(cx) - 5:.1f}" y="{_fmt(y - 5)}" width="10" '
                             f'height="10" fill="{color}"/>')
            else:
                parts.append(f'<circle cx="{cx}" cy="{_fmt(y)}" r="5" fill="{color}"/>')
            parts.append(f'<title>{html.escape(row["label"])}: {row["est"]:.1f}</title>')
    if legend:
        lx = label_w
        for name, color in legend:
            parts.append(f'<circle cx="{lx + 5}" cy="{height - 12}" r="5" fill="{color}"/>')
            parts.append(f'<text x="{lx + 14}" y="{height - 8}" fill="#222">'
                         f'{html.escape(name)}</text>')
            lx += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _range(values: list[float], *, pad: float = 0.08, floor=None, ceil=None) -> tuple[float, float]:
    vals = [v for v in values if _finite(v)] or [0.0]
    lo, hi = min(vals), max(vals)
    margin = (hi - lo) * pad or 1.0
    lo, hi = lo - margin, hi + margin
    if floor is not None:
        lo = max(lo, floor)
    if ceil is not None:
        hi = min(hi, ceil)
    return lo, hi


FOREST_LEGEND = [("CI excludes 0 and q < 0.05", "#d62728"), ("CI excludes 0 only", "#ff9f1c"),
                 ("CI includes 0", "#555")]


def forest_point(m: MetricStats, label: str, test: float | None, shape: str = "square") -> dict:
    """One paired difference as a forest-plot row: the point, its CI in points, and its colour
    (red: CI excludes 0 and the test < 0.05; orange: CI only; grey: CI includes 0)."""
    lo_, hi_ = m.ci_low, m.ci_high
    sig_ci = lo_ is not None and hi_ is not None and _finite(lo_, hi_) and (lo_ > 0 or hi_ < 0)
    strong = sig_ci and test is not None and _finite(test) and test < 0.05
    est, lo, hi = (None if v is None else 100 * v for v in (m.delta, lo_, hi_))
    return {"label": label, "est": est, "lo": lo, "hi": hi, "shape": shape,
            "color": "#d62728" if strong else ("#ff9f1c" if sig_ci else "#555")}


def forest_svg(rows: list[dict]) -> str:
    """The forest plot of these rows (headers and points), or "" when there is no point."""
    values = [0.0] + [v for r in rows for v in (r.get("est"), r.get("lo"), r.get("hi"))
                      if v is not None]
    if not rows:
        return ""
    lo, hi = _range(values)
    return dot_whisker(rows, lo=lo, hi=hi, zero=0.0, axis_label="Δ, percentage points",
                       legend=FOREST_LEGEND)


def forest_plot(significance: dict[str, Significance]) -> str:
    """Paired differences (points) with their 95% CIs, per metric, per dataset subgroup."""
    rows: list[dict] = []
    several = len({c.treatment for sig in significance.values()
                   for c in sig.comparisons}) > 1
    for metric in PRIMARY:
        block = []
        for sig in significance.values():
            for comp in sig.comparisons:
                m = comp.metrics.get(metric)
                if m is None or not _finite(m.delta):
                    continue
                sub = comp.dataset != "all"
                test = m.p_value if sub or not m.in_family else m.q_value
                label = ((f"{comp.treatment} · " if several else "")
                         + f"{comp.where()} · "
                         f"{'all datasets' if not sub else comp.dataset} (n={m.n})")
                block.append(forest_point(m, label, test, "circle" if sub else "square"))
        if block:
            rows += [{"header": f"{LABELS[metric]} (treatment − control)"}, *block]
    return forest_svg(rows)


def arm_plot(significance: dict[str, Significance], control: str, treatments: list[str]) -> str:
    """Each arm's mean with its 95% interval, per metric and (type, temperature)."""
    arms = [control, *[t for t in treatments if t != control]]
    colors = {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(arms)}
    rows = []
    for metric in PRIMARY:
        block, seen = [], set()
        for sig in significance.values():
            for comp in sig.overall():
                m = comp.metrics.get(metric)
                if m is None:
                    continue
                arm: Literal["control", "treatment"]
                for arm, name in (("control", control), ("treatment", comp.treatment)):
                    key = (name, comp.type, comp.temp)
                    if key in seen:
                        continue
                    seen.add(key)
                    vals = [m.arm_mean(arm), *m.arm_ci(arm)]
                    est, lo, hi = (None if v is None else 100 * v for v in vals)
                    colors.setdefault(name, PALETTE[len(colors) % len(PALETTE)])
                    block.append({"label": f"{name} · {comp.where()}", "est": est,
                                  "lo": lo, "hi": hi, "color": colors[name]})
        if block:
            rows += [{"header": LABELS[metric]}, *block]
    if not rows:
        return ""
    return dot_whisker(rows, lo=0.0, hi=100.0, zero=None, axis_label="percent (95% interval)",
                       legend=list(colors.items()))


def risk_coverage_plot(comp: Comparison, sel: Selective, control: str,
                       colors: dict[str, str]) -> str:
    """Selective risk against coverage for each arm of one comparison (lower is better)."""
    w, h, left, top, pw, ph = 430, 300, 55, 30, 350, 210

    def xy(cov: float, risk: float) -> str:
        return f"{left + cov * pw:.1f},{top + (1 - risk) * ph:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" role="img">',
             f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
             f'<text x="{left}" y="18" font-weight="bold">'
             f'{html.escape(comp.where())} — {html.escape(comp.treatment)} vs '
             f'{html.escape(control)}</text>']
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left + t * pw:.1f}" y1="{top}" x2="{left + t * pw:.1f}" '
                     f'y2="{top + ph}" stroke="#eee"/>')
        parts.append(f'<line x1="{left}" y1="{top + (1 - t) * ph:.1f}" x2="{left + pw}" '
                     f'y2="{top + (1 - t) * ph:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left + t * pw:.1f}" y="{top + ph + 15}" '
                     f'text-anchor="middle" fill="#444">{t:g}</text>')
        parts.append(f'<text x="{left - 6}" y="{top + (1 - t) * ph + 4:.1f}" text-anchor="end" '
                     f'fill="#444">{t:g}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
                 'stroke="#999"/>')
    parts.append(f'<text x="{left + pw / 2}" y="{h - 22}" text-anchor="middle">coverage '
                 '(share answered)</text>')
    parts.append(f'<text x="14" y="{top + ph / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + ph / 2})">risk (answered wrong)</text>')
    ly = h - 6
    lx = left
    for s, name in ((sel.control, control), (sel.treatment, comp.treatment)):
        pts = sorted((p.coverage, p.risk) for p in s.points
                     if p.risk is not None and _finite(p.coverage, p.risk))
        color = colors.get(name, "#333")
        if pts:
            path = [xy(0.0, pts[0][1])] + [xy(c, r) for c, r in pts]
            parts.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="{color}" '
                         'stroke-width="2.5"/>')
            parts += [f'<circle cx="{xy(c, r).split(",")[0]}" cy="{xy(c, r).split(",")[1]}" '
                      f'r="3.5" fill="{color}"/>' for c, r in pts]
        aurc = s.aurc
        label = f"{name} (AURC {aurc:.3f})" if aurc is not None and _finite(aurc) else name
        lx = legend_entry(parts, lx, ly, color, label)
    parts.append("</svg>")
    return "".join(parts)


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_inline(caption)}</figcaption></figure>"


def plots_section(significance: dict[str, Significance], control: str,
                  treatments: list[str]) -> Section:
    blocks = []
    forest = forest_plot(significance)
    if forest:
        blocks.append(figure(forest, "Paired differences, treatment − control, in percentage "
                              "points with their 95% intervals: squares pool every dataset, "
                              "circles are single datasets (exploratory). Right of the dashed "
                              "line = treatment higher: better for EM and F1, worse for false "
                              "answers; abstaining more is neither by itself."))
    arms = arm_plot(significance, control, treatments)
    if arms:
        blocks.append(figure(arms, "Each arm's mean with its 95% interval (Wilson for 0/1 "
                              "scores, t otherwise)."))
    colors = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate([control, *treatments])}
    curves = [risk_coverage_plot(comp, comp.selective, control, colors)
              for sig in significance.values() for comp in sig.overall()
              if comp.selective is not None]
    if curves:
        blocks.append(figure('<div class="wrap">' + "".join(curves) + "</div>",
                              "Risk–coverage per arm: each point keeps the items the arm "
                              "abstained on at most a given rate; compare the curves at the same "
                              "coverage (lower is better there). AURC = area under the curve: it "
                              "also falls when an arm simply answers less, so it ranks nothing."))
    return Section("plots", "Plots", blocks or ["No comparisons to plot."])


def render_report_html(*, run_id: str, facts: dict, trials: dict,
                       significance: dict[str, Significance], control: str, treatments: list[str],
                       predictions: dict | None = None,
                       items: dict | None = None,
                       costs: dict[str, Costs] | None = None,
                       sequential: Stopping | None = None,
                       reviews: dict[str, Review | None] | None = None,
                       telemetry: list[GpuSample] | None = None) -> str:
    """The whole report as one HTML page; the arguments of `report.render_report`, plus the
    run's telemetry.jsonl samples (store.telemetry.read_telemetry) for the resource plots."""
    sections = build_report(run_id=run_id, facts=facts, trials=trials, significance=significance,
                            control=control, treatments=treatments,
                            predictions=predictions, items=items, costs=costs,
                            sequential=sequential, reviews=reviews)
    at = next((i for i, s in enumerate(sections) if s.key == "discordant"), len(sections))
    sections.insert(at, plots_section(significance, control, treatments))
    figures = [figure(svg, caption) for svg, caption in
               gpu_plots(telemetry or []) + arm_bars(costs)]
    if figures:
        sections.insert(at + 1, Section("resource-plots", "Resource plots", figures))
    return html_page(f"evalcli report — run {run_id}",
                     f"evalcli report — run <code>{html.escape(run_id)}</code>", sections)


def html_page(title: str, heading: str, sections: list[Section]) -> str:
    """One self-contained page: `title` is text, `heading` is already-escaped HTML."""
    body = []
    for section in sections:
        body.append(f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>')
        body += [_block(b) for b in section.blocks]
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{heading}</h1>" + "\n".join(body) + "</body></html>\n")
