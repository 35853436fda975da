"""The report's resources section: what each arm used and what the treatment's gain costs.

    costs.json (per trial) ──► blocks: a paragraph, (headers, rows) tables, notes
                               (markdown.py wraps the tables; html.py renders the same section)

Every data value is escaped (esc / code) like the rest of the report. A table is returned as a
(headers, rows) pair so this module needs nothing of markdown.py (no import cycle).
"""

from __future__ import annotations

from evalcli.report.text import code, esc
from evalcli.science.costs import Costs, GpuUse, PairedDiff, Usage

# what the paired table shows, in order: costs.json name -> label, digits
_MEASURES = {"prompt_tokens": ("prompt tokens", 1), "total_tokens": ("total tokens", 1),
             "latency_s": ("engine latency (s)", 3), "worker_seconds": ("worker s", 3),
             "cpu_seconds": ("CPU s", 3), "energy_j": ("energy (J)", 2)}
NOT_ESTIMABLE = "not estimable"


def _num(value: float | None, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


def _sources(block: Usage) -> str:
    return ", ".join(f"{esc(k)} {v}" for k, v in sorted(block.tokens_source.items())) or "—"


def _interval(d: PairedDiff | None, digits: int) -> str:
    """"+1.234 (95% CI +0.5 to +2.0)", the mean alone with "no interval", or a dash."""
    if d is None or d.mean is None:
        return "—"
    if d.low is None or d.high is None:
        return f"{_num(d.mean, digits, True)} (no interval)"
    return (f"{_num(d.mean, digits, True)} (95% CI {_num(d.low, digits, True)} to "
            f"{_num(d.high, digits, True)})")


def _ratio(value: float | None, reason: str) -> str:
    if value is None and reason.startswith(NOT_ESTIMABLE):
        return NOT_ESTIMABLE
    return _num(value, 3, True)


def _vram(res: GpuUse) -> str:
    """Per-arm peak VRAM; where NVML does not give it per process: why, never a device total."""
    if res.peak_vram_mb is None and res.peak_vram_unavailable:
        return esc(f"unavailable ({res.peak_vram_unavailable})")
    return _num(res.peak_vram_mb, 0)


def resources_blocks(costs: dict[str, Costs] | None) -> list:
    """Blocks for the section, or [] when no costs.json carries these fields."""
    if not costs:
        return []
    usage = (["trial", "condition", "units", "token counts from", "worker s", "CPU s",
              "GPU s", "GPU busy s", "energy (J)", "peak VRAM (MiB)"], [])
    effects = (["trial", "treatment", "type", "extra prompt tokens / unit", "extra s / unit",
                "extra J / unit", "metric", "delta", "per 1,000 extra prompt tokens",
                "per extra second"], [])
    paired = (["trial", "treatment", "type", "measure", "pairs", "replicates",
               "treatment − control per unit"], [])
    reasons: list[str] = []
    idle_notes = []
    for slug, trial in costs.items():
        for condition, arm in trial.arms.items():
            res = arm.resources or GpuUse()
            usage[1].append([esc(slug), code(condition), str(arm.units), _sources(arm),
                             _num(arm.worker_seconds, 2), _num(arm.cpu_seconds, 2),
                             _num(res.gpu_seconds, 2), _num(res.gpu_busy_seconds, 2),
                             _num(res.energy_j, 1), _vram(res)])
        for entry in trial.cost_effectiveness:
            p = entry.paired
            for measure, (label, digits) in _MEASURES.items():
                d = p.get(measure)
                if d is None or d.mean is None:
                    continue
                unit = "arm blocks" if d.method == "arm_block_t" else "items"
                paired[1].append([esc(slug), code(entry.treatment), esc(entry.type),
                                  esc(label), str(d.pairs), f"{d.clusters} {unit}",
                                  _interval(d, digits)])
                for why in (d.reason, d.note):
                    if why and esc(f"{label}: {why}") not in reasons:
                        reasons.append(esc(f"{label}: {why}"))
            for metric, m in entry.metrics.items():
                effects[1].append([
                    esc(slug), code(entry.treatment), esc(entry.type),
                    _interval(p.get("prompt_tokens"), 1) if p else
                    _num(entry.extra_prompt_tokens_per_unit, 1, True),
                    _interval(p.get("worker_seconds"), 3) if p else
                    _num(entry.extra_seconds_per_unit, 3, True),
                    _interval(p.get("energy_j"), 2) if p else
                    _num(entry.extra_joules_per_unit, 2, True), esc(metric),
                    _num(m.delta, 3, True),
                    _ratio(m.per_1k_extra_prompt_tokens, m.per_1k_extra_prompt_tokens_reason),
                    _ratio(m.per_extra_second, m.per_extra_second_reason)])
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
    if paired[1]:
        blocks += ["Paired comparison: each treatment unit against the control unit of the same "
                   "item (and sample), the mean difference per unit with its 95% interval. "
                   "Tokens: a paired t interval over the items. Time, CPU and energy: the arms "
                   "run in alternating blocks of items (`[run] arm_block_items`), and the "
                   "interval treats each arm block as one replicate (cluster-robust t), so "
                   "whatever else the machine did during a stretch of the run widens it "
                   "instead of showing as a difference between the arms.", paired]
        if reasons:
            blocks.append(reasons)
    if effects[1]:
        blocks += ["Cost-effectiveness: the treatment's extra cost per unit over the control "
                   "(paired, as above), and each metric's paired delta per 1,000 extra prompt "
                   "tokens and per extra second — given only when the extra cost's 95% "
                   "interval excludes 0, otherwise \"not estimable\" (a delta divided by an "
                   "extra that may be 0 can be any number). Signs are kept: with a shorter "
                   "treatment the extras are negative, so a gain shows as a negative ratio.",
                   effects]
    if idle_notes:
        blocks.append(idle_notes)
    return blocks
