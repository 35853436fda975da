"""costs.json: tokens, latency and (when the profile gives prices) cost per arm of a trial.

    predictions rows ──group by condition (and type)──► token sums, means per unit, latency
                      └── × PricingConfig (per million tokens) ──► cost, or null without prices

A pure function of predictions.csv rows; it never touches an engine. Every finished unit
counts — a failed unit that consumed tokens cost them too — and `answered` says how many
of them produced an answer. Pending units (never run) are left out. A token count of -1
means the engine did not report it: such units are left out of the sums and means (and
so of the cost) and counted in `units_without_token_counts`. Latency is null when the
predictions carry none (the predecessor's files have no latency column).

Schema (`schema_version` 1):

    {schema_version, generated_by: "evalcli.science.costs",
     pricing: {input_per_million, output_per_million, currency} | null,
     arms: {<condition>: {<tokens>, by_type: {open|closed: {<tokens>}}}},
     total: {<tokens>}}
    <tokens> = units, answered, failed, units_without_token_counts, prompt_tokens, completion_tokens, total_tokens,
               mean_prompt_tokens, mean_completion_tokens, mean_total_tokens,
               latency_ms: {mean, p50, p95, max} | null, cost | null, cost_per_unit | null
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from evalcli.inputs.config import PricingConfig
from evalcli.store.fsutil import atomic_write_bytes

SCHEMA_VERSION = 1


def _summary(rows: list[dict], pricing: PricingConfig) -> dict:
    counted = [r for r in rows if min(int(r.get("prompt_tokens") or 0),
                                      int(r.get("completion_tokens") or 0)) >= 0]
    prompt = sum(int(r.get("prompt_tokens") or 0) for r in counted)
    completion = sum(int(r.get("completion_tokens") or 0) for r in counted)
    units = len(rows)
    answered = sum(1 for r in rows if r.get("status", "ok") == "ok")
    latencies = np.array([float(r["latency_ms"]) for r in rows if (r.get("latency_ms") or 0) > 0])
    cost = pricing.cost(prompt, completion)

    def mean(total: float) -> float | None:
        return total / len(counted) if counted else None

    return {
        "units": units, "answered": answered, "failed": units - answered,
        "units_without_token_counts": units - len(counted),
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "mean_prompt_tokens": mean(prompt), "mean_completion_tokens": mean(completion),
        "mean_total_tokens": mean(prompt + completion),
        "latency_ms": None if latencies.size == 0 else {
            "mean": float(latencies.mean()), "p50": float(np.percentile(latencies, 50)),
            "p95": float(np.percentile(latencies, 95)), "max": float(latencies.max())},
        "cost": cost,
        "cost_per_unit": None if cost is None or not counted else cost / len(counted),
    }


def summarize_costs(predictions: list[dict], pricing: PricingConfig | None = None) -> dict:
    """The costs.json dict for one trial's predictions rows (from read_predictions)."""
    pricing = pricing or PricingConfig()
    finished = [r for r in predictions if r.get("status", "ok") in ("ok", "failed")]
    arms: dict[str, dict] = {}
    for condition in dict.fromkeys(str(r["condition"]) for r in finished):
        rows = [r for r in finished if str(r["condition"]) == condition]
        by_type = {kind: _summary([r for r in rows if r.get("type") == kind], pricing)
                   for kind in dict.fromkeys(str(r.get("type") or "") for r in rows) if kind}
        arms[condition] = {**_summary(rows, pricing), "by_type": by_type}
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "evalcli.science.costs",
        "pricing": msgspec.to_builtins(pricing) if pricing.priced else None,
        "arms": arms,
        "total": _summary(finished, pricing),
    }


def write_costs(path: Path, costs: dict) -> None:
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(costs), indent=2) + b"\n")
