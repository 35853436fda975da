"""What the treatment's gain costs: extra tokens, seconds and joules per unit against its gain.

    costs.json arms (per type) ──┐
    significance.json comparisons (dataset "all": delta per metric) ──► one entry per
        treatment × type: extra_* per unit (treatment mean − control mean) and, per metric,
        delta / extra prompt tokens × 1000 and delta / extra seconds

Signs are kept: a treatment shorter than the control has negative extra tokens, so a gain
(positive delta) then shows as a negative ratio — read the delta and the extra together.
Seconds are worker seconds (dispatch to answer) per unit; joules come from GPU telemetry.

A ratio is given only when its extra cost is distinguishable from 0: the paired difference
per unit (evalcli.science.paired_costs, `paired`) has a 95% interval that excludes 0; the
ratio's denominator is then that paired mean. Otherwise the ratio is null and its
`..._reason` says "not estimable: ..." — a delta divided by an extra that may be 0 is any
number at all (issue 25: +2,000 "per extra second" from a −0.0002 s difference).
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


def _ratio(delta: float | None, extra: dict[str, Any] | None, what: str,
           scale: float = 1.0) -> tuple[float | None, str]:
    """delta / the paired extra, or None and why ("not estimable: ...")."""
    if delta is None:
        return None, "no delta for this metric"
    if not extra or extra.get("mean") is None:
        return None, f"not estimable: no paired {what}"
    if extra.get("low") is None:
        return None, f"not estimable: {extra.get('reason') or 'no interval'}"
    if not extra.get("excludes_zero") or abs(extra["mean"]) < 1e-12:
        return None, (f"not estimable: the extra {what} per unit "
                      f"({extra['mean']:+.4g}, 95% CI {extra['low']:+.4g} to "
                      f"{extra['high']:+.4g}) cannot be told from 0")
    return delta / extra["mean"] * scale, ""


def cost_effectiveness(arms: dict[str, dict[str, Any]], significance: Significance | None,
                       pairing: Any = None) -> list[dict[str, Any]]:
    """One entry per (treatment, type) comparison on dataset "all"; [] without significance.
    `pairing`: a paired_costs.Pairing over the trial's rows (None: no ratio is estimable)."""
    out: list[dict[str, Any]] = []
    for comp in significance.overall() if significance else []:
        trt, ctrl, kind = comp.treatment, comp.control, comp.type
        if trt not in arms or ctrl not in arms:
            continue
        t = _per_unit(arms[trt].get("by_type", {}).get(kind) or arms[trt])
        c = _per_unit(arms[ctrl].get("by_type", {}).get(kind) or arms[ctrl])
        extra = {k: _diff(t[k], c[k]) for k in t}
        paired = pairing.compare(trt, ctrl, kind) if pairing is not None else {}
        metrics = {}
        for name, m in comp.metrics.items():
            delta = m.delta
            per_1k, why_1k = _ratio(delta, paired.get("prompt_tokens"), "prompt tokens", 1000.0)
            per_s, why_s = _ratio(delta, paired.get("worker_seconds"), "seconds")
            metrics[name] = {
                "delta": delta,
                "per_1k_extra_prompt_tokens": per_1k, "per_1k_extra_prompt_tokens_reason": why_1k,
                "per_extra_second": per_s, "per_extra_second_reason": why_s,
            }
        out.append({
            "treatment": trt, "control": ctrl, "type": kind, "temp": comp.temp,
            "extra_prompt_tokens_per_unit": extra["prompt_tokens"],
            "extra_total_tokens_per_unit": extra["total_tokens"],
            "extra_seconds_per_unit": extra["seconds"],
            "extra_joules_per_unit": extra["joules"],
            "extra_cost_per_unit": extra["cost"],
            "metrics": metrics,
            "paired": paired,
        })
    return out
