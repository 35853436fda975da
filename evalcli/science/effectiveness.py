"""What the treatment's gain costs: extra tokens, seconds and joules per unit against its gain.

    costs.json arms (per type) ──┐
    significance.json comparisons (dataset "all": delta per metric) ──► one entry per
        treatment × type: extra_* per unit (treatment mean − control mean) and, per metric,
        delta / extra prompt tokens × 1000 and delta / extra seconds

Signs are kept: a treatment shorter than the control has negative extra tokens, so a gain
(positive delta) then shows as a negative ratio — read the delta and the extra together. A ratio is null when its extra is 0 or unknown.
Seconds are worker seconds (dispatch to answer) per unit; joules come from GPU telemetry.
"""

from __future__ import annotations

from typing import Any

from evalcli.science.stats.schema import Significance


def _mean(block: dict[str, Any], key: str) -> float | None:
    value = block.get(key)
    units = block.get("units") or 0
    if value is None or not units:
        return None
    return float(value) / units


def _per_unit(block: dict[str, Any]) -> dict[str, float | None]:
    res = block.get("resources") or {}
    return {
        "prompt_tokens": block.get("mean_prompt_tokens"),
        "total_tokens": block.get("mean_total_tokens"),
        "seconds": _mean(block, "worker_seconds"),
        "joules": None if res.get("energy_j") is None or not res.get("units_measured")
        else res["energy_j"] / res["units_measured"],
        "cost": block.get("cost_per_unit"),
    }


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(delta: float | None, extra: float | None, scale: float = 1.0) -> float | None:
    if delta is None or extra is None or abs(extra) < 1e-12:
        return None
    return delta / extra * scale


def cost_effectiveness(arms: dict[str, dict[str, Any]], significance: Significance | None) -> list[dict[str, Any]]:
    """One entry per (treatment, type) comparison on dataset "all"; [] without significance."""
    out: list[dict[str, Any]] = []
    for comp in significance.overall() if significance else []:
        trt, ctrl, kind = comp.treatment, comp.control, comp.type
        if trt not in arms or ctrl not in arms:
            continue
        t = _per_unit(arms[trt].get("by_type", {}).get(kind) or arms[trt])
        c = _per_unit(arms[ctrl].get("by_type", {}).get(kind) or arms[ctrl])
        extra = {k: _diff(t[k], c[k]) for k in t}
        metrics = {}
        for name, m in comp.metrics.items():
            delta = m.delta
            metrics[name] = {
                "delta": delta,
                "per_1k_extra_prompt_tokens": _ratio(delta, extra["prompt_tokens"], 1000.0),
                "per_extra_second": _ratio(delta, extra["seconds"]),
            }
        out.append({
            "treatment": trt, "control": ctrl, "type": kind, "temp": comp.temp,
            "extra_prompt_tokens_per_unit": extra["prompt_tokens"],
            "extra_total_tokens_per_unit": extra["total_tokens"],
            "extra_seconds_per_unit": extra["seconds"],
            "extra_joules_per_unit": extra["joules"],
            "extra_cost_per_unit": extra["cost"],
            "metrics": metrics,
        })
    return out
