"""report.html's resource plots, as inline SVG (no JavaScript, no external file).

    telemetry.jsonl lines ──per GPU──► utilisation (%) and VRAM used (MiB) over the run's time
                                       (one polyline point per reading that has the value; a
                                       gap between generate sessions breaks the line)
    costs.json per trial  ──────────► bars per arm: tokens (prompt + answer), and energy (J)
                                       when GPU telemetry attributed any

Each function returns (svg, caption) pairs, or [] when there is nothing to draw (no GPU
readings, no counted tokens, no energy): report.html then has no empty plot. Labels are data
(GPU names, condition names): escaped with html.escape in the SVG; captions are marked text
(report/text.py).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from evalcli.report.text import esc
from evalcli.science.costs import Costs
from evalcli.store.telemetry import GpuSample

PALETTE = ("#1f77b4", "#e6550d", "#31a354", "#756bb1", "#d6616b", "#8c6d31")
W, H, LEFT, TOP, PW, PH = 920, 260, 70, 30, 820, 180
GAP_FACTOR = 5.0  # a pause longer than this many median intervals breaks the line


def _segments(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    if len(points) < 2:
        return [points] if points else []
    steps = sorted(b[0] - a[0] for a, b in zip(points, points[1:], strict=False))
    limit = GAP_FACTOR * max(steps[len(steps) // 2], 1e-6)
    out = [[points[0]]]
    for a, b in zip(points, points[1:], strict=False):
        if b[0] - a[0] > limit:
            out.append([])
        out[-1].append(b)
    return out


def line_chart(title: str, y_label: str, y_max: float,
               series: list[tuple[str, str, list[tuple[float, float]]]]) -> str:
    """Lines over time: series = (label, colour, [(seconds, value)]); y from 0 to y_max."""
    t_max = max((p[0] for _, _, pts in series for p in pts), default=0.0) or 1.0
    y_max = y_max or 1.0

    def xy(t: float, v: float) -> str:
        return f"{LEFT + t / t_max * PW:.1f},{TOP + (1 - min(v, y_max) / y_max) * PH:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'viewBox="0 0 {W} {H}" role="img">',
             f'<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
             f'<text x="{LEFT}" y="18" font-weight="bold">{html.escape(title)}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" fill="none" stroke="#999"/>']
    for f in (0.0, 0.5, 1.0):
        y = TOP + (1 - f) * PH
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#444">{f * y_max:,.0f}</text>')
        parts.append(f'<text x="{LEFT + f * PW:.1f}" y="{TOP + PH + 15}" text-anchor="middle" '
                     f'fill="#444">{f * t_max:,.0f}</text>')
    parts.append(f'<text x="{LEFT + PW / 2}" y="{H - 22}" text-anchor="middle">seconds since '
                 f'the first reading — {html.escape(y_label)}</text>')
    lx: float = LEFT
    for label, color, pts in series:
        for seg in _segments(pts):
            parts.append(f'<polyline points="{" ".join(xy(t, v) for t, v in seg)}" fill="none" '
                         f'stroke="{color}" stroke-width="1.8"/>')
        lx = legend_entry(parts, lx, H - 6, color, label)
    parts.append("</svg>")
    return "".join(parts)


def legend_entry(parts: list[str], x: float, y: float, color: str, label: str) -> float:
    """Append one SVG legend entry (a colour stroke, then its escaped label) at (x, y, the
    text baseline); returns the x where the next entry starts."""
    parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 16}" y2="{y - 4}" '
                 f'stroke="{color}" stroke-width="3"/>')
    parts.append(f'<text x="{x + 20}" y="{y}">{html.escape(label)}</text>')
    return x + 30 + 7 * len(label)


def gpu_plots(telemetry: list[GpuSample]) -> list[tuple[str, str]]:
    """Per GPU: utilisation and VRAM over time; [] without GPU readings."""
    if not telemetry:
        return []
    t0 = min(s.t for s in telemetry)
    by_gpu: dict[int, list[GpuSample]] = {}
    for sample in sorted(telemetry, key=lambda s: s.t):
        by_gpu.setdefault(sample.gpu, []).append(sample)
    out = []
    for index, samples in sorted(by_gpu.items()):
        name = f"GPU {index} ({samples[-1].name or 'unnamed'})"

        def points(read: Callable[[GpuSample], float | None],
                   samples: list[GpuSample] = samples) -> list[tuple[float, float]]:
            return [(s.t - t0, float(v)) for s in samples if (v := read(s)) is not None]

        util = [(label, color, pts) for label, color, pts in
                (("GPU busy %", PALETTE[0], points(lambda s: s.util_gpu)),
                 ("memory bus busy %", PALETTE[1], points(lambda s: s.util_mem))) if pts]
        if util:
            out.append((line_chart(f"{name} — utilisation", "percent", 100.0, util),
                        f"{esc(name)}: utilisation over the run, one point per reading."))
        vram = points(lambda s: s.mem_used_mb)
        if vram:
            total = max((float(s.mem_total_mb) for s in samples if s.mem_total_mb is not None),
                        default=max(v for _, v in vram))
            out.append((line_chart(f"{name} — VRAM used", "MiB", total,
                                   [("VRAM used, MiB", PALETTE[2], vram)]),
                        f"{esc(name)}: memory used over the run (the axis ends at its "
                        f"{total:,.0f} MiB)."))
    return out


def bar_chart(title: str, unit: str, bars: list[tuple[str, float]]) -> str:
    """Horizontal bars: (label, value >= 0)."""
    row_h, label_w = 24, min(max(120, 12 + 7 * max(len(b[0]) for b in bars)), W // 2)
    plot_w = W - label_w - 120
    height = TOP + row_h * len(bars) + 20
    top = max(v for _, v in bars) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
             f'viewBox="0 0 {W} {height}" role="img">',
             f'<rect x="0" y="0" width="{W}" height="{height}" fill="#ffffff"/>',
             f'<text x="6" y="18" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value) in enumerate(bars):
        y = TOP + row_h * i
        width = max(value, 0.0) / top * plot_w
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
                     f'{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{row_h - 8}" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"><title>{html.escape(label)}: '
                     f'{value:,.1f} {html.escape(unit)}</title></rect>')
        parts.append(f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" fill="#222">'
                     f'{value:,.1f} {html.escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def arm_bars(costs: dict[str, Costs] | None) -> list[tuple[str, str]]:
    """Tokens per arm (where counted) and energy per arm (where attributed)."""
    several = len(costs or {}) > 1
    tokens, energy = [], []
    for slug, trial in (costs or {}).items():
        for condition, arm in trial.arms.items():
            label = f"{slug} · {condition}" if several else condition
            if arm.units > arm.units_without_token_counts:
                tokens.append((label, float(arm.total_tokens)))
            joules = arm.resources.energy_j if arm.resources else None
            if joules is not None:
                energy.append((label, float(joules)))
    out = []
    if tokens:
        out.append((bar_chart("Tokens per arm (prompt + answer)", "tokens", tokens),
                    "Tokens each arm used, summed over its finished units (costs.json; counts "
                    "not reported by the engine come from the token source in its table)."))
    if energy:
        out.append((bar_chart("GPU energy per arm", "J", energy),
                    "GPU energy attributed to each arm's units by time (docs/run-directory.md)."))
    return out
