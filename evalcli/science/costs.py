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
               resources: {gpu_seconds, gpu_busy_seconds, energy_j, peak_vram_mb,
                           peak_vram_unavailable} | null

Schema 2 adds tokens_source, worker_seconds, cpu_seconds and resources per arm (resources
null without GPU telemetry: then cpu_seconds is the measure), `idle` (the run-wide GPU time
and energy no unit was running for: loading, gaps) and `cost_effectiveness` (one entry per
treatment × type with a significance comparison): the treatment's extra prompt/total tokens,
seconds, joules and priced cost per unit over the control, and for each metric its delta per
1,000 extra prompt tokens and per extra second (sign kept; null when the extra is 0 or
unknown). Attribution of telemetry to units: evalcli.science.resources.

Since arm blocks (issue 25): each cost_effectiveness entry has `paired` — per measure
(prompt_tokens, total_tokens, latency_s, worker_seconds, cpu_seconds, energy_j) the mean
treatment − control difference per unit on the same items with its 95% interval
(evalcli.science.paired_costs: paired t for tokens, arm blocks as clusters for time-bound
measures) — and a ratio is given only when that interval excludes 0; otherwise it is null
and `per_..._reason` says "not estimable" and why.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np

from evalcli.inputs.config import PricingConfig
from evalcli.science.effectiveness import cost_effectiveness
from evalcli.science.paired_costs import Pairing
from evalcli.science.resources import unit_key
from evalcli.science.stats.schema import Significance
from evalcli.store.jsonfile import read_json, write_json
from evalcli.store.predictions import NOT_RUN, PredictionRow

SCHEMA_VERSION = 2


# -- the file as types (readers: report/, science/effectiveness) -----------------------------
class Latency(msgspec.Struct, kw_only=True):
    mean: float
    p50: float
    p95: float
    max: float


class GpuUse(msgspec.Struct, kw_only=True):
    """GPU telemetry attributed to an arm's units (or, run-wide, to no unit: `idle`)."""

    units_measured: int = 0
    gpu_seconds: float | None = None
    gpu_busy_seconds: float | None = None
    energy_j: float | None = None
    peak_vram_mb: float | None = None
    peak_vram_unavailable: str = ""  # why peak_vram_mb is null, e.g. "Windows WDDM"


class Usage(msgspec.Struct, kw_only=True):
    """<tokens> of the schema above: one arm, one arm's book type, or the trial."""

    units: int
    answered: int
    failed: int
    tokens_source: dict[str, int] = {}
    worker_seconds: float | None = None
    cpu_seconds: float | None = None
    resources: GpuUse | None = None
    units_without_token_counts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    mean_prompt_tokens: float | None = None
    mean_completion_tokens: float | None = None
    mean_total_tokens: float | None = None
    latency_ms: Latency | None = None
    cost: float | None = None
    cost_per_unit: float | None = None


class ArmUsage(Usage, kw_only=True):
    by_type: dict[str, Usage] = {}


class PairedDiff(msgspec.Struct, kw_only=True):
    """Treatment − control per unit on the same items (evalcli.science.paired_costs)."""

    pairs: int = 0  # pairs with this number in both arms
    clusters: int = 0  # what the interval replicates over: pairs, or arm blocks
    method: Literal["paired_t", "arm_block_t"] = "paired_t"
    mean: float | None = None  # mean paired difference per unit
    low: float | None = None  # 95% interval; null = not estimable (reason)
    high: float | None = None
    excludes_zero: bool = False
    reason: str = ""  # why there is no interval
    note: str = ""
    reused_pairs: int = 0  # time-bound measures: pairs left out, an answer of theirs reused


class MetricEffect(msgspec.Struct, kw_only=True):
    delta: float | None = None
    per_1k_extra_prompt_tokens: float | None = None
    per_extra_second: float | None = None
    # why a ratio is null: "not estimable: ..." when its extra cannot be told from 0
    per_1k_extra_prompt_tokens_reason: str = ""
    per_extra_second_reason: str = ""


class Effectiveness(msgspec.Struct, kw_only=True):
    """What one treatment's gain costs over the control, for one book type."""

    treatment: str
    control: str
    type: str
    temp: float | None = None
    extra_prompt_tokens_per_unit: float | None = None
    extra_total_tokens_per_unit: float | None = None
    extra_seconds_per_unit: float | None = None
    extra_joules_per_unit: float | None = None
    extra_cost_per_unit: float | None = None
    metrics: dict[str, MetricEffect] = {}
    # prompt_tokens, total_tokens, latency_s, worker_seconds, cpu_seconds, energy_j
    paired: dict[str, PairedDiff] = {}


class Costs(msgspec.Struct, kw_only=True):
    schema_version: int
    generated_by: str = ""
    pricing: PricingConfig | None = None
    arms: dict[str, ArmUsage] = {}
    total: Usage | None = None
    idle: GpuUse | None = None
    cost_effectiveness: list[Effectiveness] = []


def read_costs(path: Path) -> Costs:
    """A trial's costs.json; a file that is not one is one DataError naming it."""
    return read_json(path, Costs, redo="costs")


class _Tally:
    """One group's running sums over streamed rows; the few per-unit numbers a mean, a
    percentile or an ordered sum needs are kept in arrays (8 bytes a unit), never rows."""

    def __init__(self) -> None:
        self.units = self.answered = self.counted = self.prompt = self.completion = 0
        self.latencies, self.spans, self.cpu = array("d"), array("d"), array("d")
        self.sources: dict[str, int] = {}
        self.used: list[dict[str, Any]] = []  # the units' attributed resources, in row order

    def add(self, r: PredictionRow, used: dict[str, Any] | None) -> None:
        self.units += 1
        self.answered += r.status == "ok"
        prompt, completion = r.prompt_tokens, r.completion_tokens
        if min(prompt, completion) >= 0:
            self.counted += 1
            self.prompt += prompt
            self.completion += completion
            source = r.tokens_source or "engine"
            self.sources[source] = self.sources.get(source, 0) + 1
        if r.latency_ms > 0:
            self.latencies.append(r.latency_ms)
        if r.ended_at >= r.started_at > 0:
            self.spans.append(r.ended_at - r.started_at)
        if r.cpu_ms is not None and r.cpu_ms > 0:
            self.cpu.append(r.cpu_ms)
        if used is not None:
            self.used.append(used)

    def summary(self, pricing: PricingConfig, measured: bool) -> dict[str, Any]:
        """<tokens> of the schema; `measured`: GPU telemetry was attributed to units."""
        prompt, completion, counted = self.prompt, self.completion, self.counted
        cost = pricing.cost(prompt, completion)
        latencies = np.frombuffer(self.latencies) if self.latencies else np.zeros(0)

        def mean(total: float) -> float | None:
            return total / counted if counted else None

        return {
            "units": self.units, "answered": self.answered, "failed": self.units - self.answered,
            "tokens_source": self.sources,
            "worker_seconds": round(sum(self.spans), 3) if self.spans else None,
            "cpu_seconds": round(sum(self.cpu) / 1000.0, 6) if self.cpu else None,
            "resources": _resources(self.used) if measured else None,
            "units_without_token_counts": self.units - counted,
            "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "mean_prompt_tokens": mean(prompt), "mean_completion_tokens": mean(completion),
            "mean_total_tokens": mean(prompt + completion),
            "latency_ms": None if latencies.size == 0 else {
                "mean": float(latencies.mean()), "p50": float(np.percentile(latencies, 50)),
                "p95": float(np.percentile(latencies, 95)), "max": float(latencies.max())},
            "cost": cost,
            "cost_per_unit": None if cost is None or not counted else cost / counted,
        }


def _resources(got: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums of the units' attributed GPU use (max for VRAM)."""
    peaks = [g["peak_vram_mb"] for g in got if g.get("peak_vram_mb") is not None]
    return {"units_measured": len(got),
            **{k: round(sum(g[k] for g in got), 3)
               for k in ("gpu_seconds", "gpu_busy_seconds", "energy_j")},
            "peak_vram_mb": max(peaks) if peaks else None,
            "peak_vram_unavailable": "" if peaks else next(
                (g["peak_vram_unavailable"] for g in got if g.get("peak_vram_unavailable")), "")}


def summarize_costs(predictions: Iterable[PredictionRow], pricing: PricingConfig | None = None,
                    *, unit_resources: dict[str, dict[str, Any]] | None = None,
                    idle: dict[str, Any] | None = None,
                    significance: Significance | None = None) -> Costs:
    """costs.json for one trial's predictions rows (iter_predictions: streamed, read once):
    the numbers of costs_numbers, typed."""
    return msgspec.convert(costs_numbers(predictions, pricing, unit_resources=unit_resources,
                                         idle=idle, significance=significance), Costs)


def costs_numbers(predictions: Iterable[PredictionRow], pricing: PricingConfig | None = None,
                  *, unit_resources: dict[str, dict[str, Any]] | None = None,
                  idle: dict[str, Any] | None = None,
                  significance: Significance | None = None) -> dict[str, Any]:
    """The costs.json numbers as plain dicts for one trial's predictions rows.

    `unit_resources`: resources.attribute() keyed by resources.unit_key(row); `idle` its
    run-wide idle entry; `significance`: the trial's significance.json (for
    cost-effectiveness)."""
    pricing = pricing or PricingConfig()
    measured = bool(unit_resources)
    total = _Tally()
    arms_tally: dict[str, tuple[_Tally, dict[str, _Tally]]] = {}  # condition -> its tallies
    pairing = Pairing()
    for r in predictions:
        if r.status in NOT_RUN:  # pending / skipped: never ran
            continue
        used = unit_resources.get(unit_key(r)) if unit_resources else None
        pairing.add(r, used)
        arm, by_type = arms_tally.setdefault(r.condition, (_Tally(), {}))
        kind = r.type
        for tally in (total, arm, by_type.setdefault(kind, _Tally()) if kind else None):
            if tally is not None:
                tally.add(r, used)
    arms = {condition: {**arm.summary(pricing, measured),
                        "by_type": {kind: t.summary(pricing, measured)
                                    for kind, t in by_type.items()}}
            for condition, (arm, by_type) in arms_tally.items()}
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "evalcli.science.costs",
        "pricing": msgspec.to_builtins(pricing) if pricing.priced else None,
        "arms": arms,
        "total": total.summary(pricing, measured),
        "idle": idle,
        "cost_effectiveness": cost_effectiveness(arms, significance, pairing),
    }


def write_costs(path: Path, costs: Costs) -> None:
    write_json(path, costs)
