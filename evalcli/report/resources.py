"""The report's resources section: what each arm used and what the treatment's gain costs.

    costs.json (per trial) ──► blocks: a paragraph, (headers, rows) tables, notes
                               (markdown.py wraps the tables; html.py renders the same section)

Every data value is escaped (esc / code) like the rest of the report. A table is returned as a
(headers, rows) pair so this module needs nothing of markdown.py (no import cycle).
"""

from __future__ import annotations

from evalcli.report.text import code, esc
from evalcli.science.costs import Costs, GpuUse, Usage


def _num(value: float | None, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


def _sources(block: Usage) -> str:
    return ", ".join(f"{esc(k)} {v}" for k, v in sorted(block.tokens_source.items())) or "—"


def resources_blocks(costs: dict[str, Costs] | None) -> list:
    """Blocks for the section, or [] when no costs.json carries these fields."""
    if not costs:
        return []
    usage = (["trial", "condition", "units", "token counts from", "worker s", "CPU s",
              "GPU s", "GPU busy s", "energy (J)", "peak VRAM (MiB)"], [])
    effects = (["trial", "treatment", "type", "extra prompt tokens / unit", "extra s / unit",
                "extra J / unit", "metric", "delta", "per 1,000 extra prompt tokens",
                "per extra second"], [])
    idle_notes = []
    for slug, trial in costs.items():
        for condition, arm in trial.arms.items():
            res = arm.resources or GpuUse()
            usage[1].append([esc(slug), code(condition), str(arm.units), _sources(arm),
                             _num(arm.worker_seconds, 2), _num(arm.cpu_seconds, 2),
                             _num(res.gpu_seconds, 2), _num(res.gpu_busy_seconds, 2),
                             _num(res.energy_j, 1), _num(res.peak_vram_mb, 0)])
        for entry in trial.cost_effectiveness:
            for metric, m in entry.metrics.items():
                effects[1].append([
                    esc(slug), code(entry.treatment), esc(entry.type),
                    _num(entry.extra_prompt_tokens_per_unit, 1, True),
                    _num(entry.extra_seconds_per_unit, 3, True),
                    _num(entry.extra_joules_per_unit, 2, True), esc(metric),
                    _num(m.delta, 3, True), _num(m.per_1k_extra_prompt_tokens, 3, True),
                    _num(m.per_extra_second, 3, True)])
        idle = trial.idle
        if idle is not None and not idle_notes:
            idle_notes.append(f"GPU time no unit was running for (model loading, gaps), run-wide: "
                              f"{_num(idle.gpu_seconds, 2)} s, "
                              f"{_num(idle.energy_j, 1)} J.")
    if not any(len(r) > 3 and r[4] != "—" for r in usage[1]) and not effects[1]:
        return []
    head = ("Worker s = dispatch to answer, summed over the arm's units; CPU s = the workers' "
            "CPU time on them; GPU s, energy and VRAM come from GPU telemetry attributed to "
            "units by time (docs/run-directory.md, telemetry.jsonl and resources); a dash means no "
            "GPU telemetry.")
    blocks: list = [head, usage]
    if effects[1]:
        blocks += ["Cost-effectiveness: the treatment's extra cost per unit over the control, "
                   "and each metric's paired delta per 1,000 extra prompt tokens and per extra "
                   "second. Signs are kept: with a shorter treatment the extras are negative, "
                   "so a gain shows as a negative ratio.", effects]
    if idle_notes:
        blocks.append(idle_notes)
    return blocks
