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
               latency_ms: {mean, p50, p95, max} | null, cost | null, cost_per_unit | null,
               tokens_source: {engine|tokenizer|tiktoken|estimate: units},
               worker_seconds (Σ ended_at - started_at), cpu_seconds (Σ worker CPU) | null,
               resources: {gpu_seconds, gpu_busy_seconds, energy_j, peak_vram_mb} | null

Schema 2 adds tokens_source, worker_seconds, cpu_seconds and resources per arm (resources
null without GPU telemetry: then cpu_seconds is the measure), `idle` (the run-wide GPU time
and energy no unit was running for: loading, gaps) and `cost_effectiveness` (one entry per
treatment × type with a significance comparison): the treatment's extra prompt/total tokens,
seconds, joules and priced cost per unit over the control, and for each metric its delta per
1,000 extra prompt tokens and per extra second (sign kept; null when the extra is 0 or
unknown). Attribution of telemetry to units: evalcli.science.resources.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from evalcli.inputs.config import PricingConfig
from evalcli.science.effectiveness import cost_effectiveness
from evalcli.science.resources import unit_key
from evalcli.store.fsutil import atomic_write_bytes

SCHEMA_VERSION = 2


def _resources(rows: list[dict], unit_resources: dict[str, dict] | None) -> dict | None:
    """Sums of the units' attributed GPU use (max for VRAM); None without telemetry."""
    if not unit_resources:
        return None
    got = [unit_resources[k] for k in (unit_key(r) for r in rows) if k in unit_resources]
    peaks = [g["peak_vram_mb"] for g in got if g.get("peak_vram_mb") is not None]
    return {"units_measured": len(got),
            **{k: round(sum(g[k] for g in got), 3)
               for k in ("gpu_seconds", "gpu_busy_seconds", "energy_j")},
            "peak_vram_mb": max(peaks) if peaks else None}


def _summary(rows: list[dict], pricing: PricingConfig,
             unit_resources: dict[str, dict] | None = None) -> dict:
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

    timed = [r for r in rows if (r.get("ended_at") or 0) >= (r.get("started_at") or 0) > 0]
    cpu = [float(r["cpu_ms"]) for r in rows if (r.get("cpu_ms") or 0) > 0]
    sources: dict[str, int] = {}
    for r in counted:
        source = str(r.get("tokens_source") or "engine")
        sources[source] = sources.get(source, 0) + 1
    return {
        "units": units, "answered": answered, "failed": units - answered,
        "tokens_source": sources,
        "worker_seconds": round(sum(r["ended_at"] - r["started_at"] for r in timed), 3)
                          if timed else None,
        "cpu_seconds": round(sum(cpu) / 1000.0, 6) if cpu else None,
        "resources": _resources(rows, unit_resources),
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


def summarize_costs(predictions: list[dict], pricing: PricingConfig | None = None, *,
                    unit_resources: dict[str, dict] | None = None, idle: dict | None = None,
                    significance: dict | None = None) -> dict:
    """The costs.json dict for one trial's predictions rows (from read_predictions).

    `unit_resources`: resources.attribute() keyed by resources.unit_key(row); `idle` its
    run-wide idle entry; `significance`: the trial's significance.json (for
    cost-effectiveness)."""
    pricing = pricing or PricingConfig()
    res = unit_resources
    finished = [r for r in predictions if r.get("status", "ok") in ("ok", "failed")]
    arms: dict[str, dict] = {}
    for condition in dict.fromkeys(str(r["condition"]) for r in finished):
        rows = [r for r in finished if str(r["condition"]) == condition]
        by_type = {kind: _summary([r for r in rows if r.get("type") == kind], pricing, res)
                   for kind in dict.fromkeys(str(r.get("type") or "") for r in rows) if kind}
        arms[condition] = {**_summary(rows, pricing, res), "by_type": by_type}
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "evalcli.science.costs",
        "pricing": msgspec.to_builtins(pricing) if pricing.priced else None,
        "arms": arms,
        "total": _summary(finished, pricing, res),
        "idle": idle,
        "cost_effectiveness": cost_effectiveness(arms, significance),
    }


def write_costs(path: Path, costs: dict) -> None:
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(costs), indent=2) + b"\n")
