"""Paired resource differences (costs.json cost_effectiveness[].paired) and when a
cost-effectiveness ratio is estimable: time-bound measures replicate over arm blocks, tokens
over items; a ratio only when its extra cost's interval excludes 0."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from evalcli.science.costs import costs_numbers, summarize_costs
from evalcli.science.paired_costs import NO_BLOCKS, Pairing, paired_interval
from evalcli.science.stats.schema import Comparison, MetricStats, Settings, Significance
from evalcli.store.predictions import PredictionRow


def _significance(delta: float = 0.1) -> Significance:
    settings = Settings(control="control", treatments=["treatment"], confidence=0.95, seed=1,
                        n_boot=0, n_perm=0, tost_margins={}, primary_test="paired_t",
                        fdr_method="bh", family="em", family_size=1, mcnemar_threshold=0.5,
                        power=0.8)
    comp = Comparison(treatment="treatment", control="control", temp=0.0, type="open",
                      dataset="all", n_items=40, n_clusters=40,
                      metrics={"em": MetricStats(n=40, delta=delta)})
    return Significance(schema_version=1, settings=settings, comparisons=[comp])


def _rows(order: list[tuple[str, int]], latency, tokens=lambda cond, i: 100, cpu=True):
    """Rows run one after the other in `order` ((condition, item) pairs) on one worker; the
    latency of the k-th unit run is latency(k, condition, item) seconds."""
    rows, clock = [], 1000.0
    for k, (cond, i) in enumerate(order):
        seconds = latency(k, cond, i)
        rows.append(PredictionRow(custom_id=f"d|i{i}|{cond}|0.0|0|open", condition=cond,
                                  type="open", status="ok", prompt_tokens=tokens(cond, i),
                                  completion_tokens=5, latency_ms=seconds * 1000.0, worker=0,
                                  started_at=clock, ended_at=clock + seconds,
                                  cpu_ms=seconds * 1000.0 if cpu else None))
        clock += seconds + 0.001
    return rows


def _abba(n: int, block: int) -> list[tuple[str, int]]:
    order, arms = [], ["control", "treatment"]
    for c, start in enumerate(range(0, n, block)):
        for cond in (arms if c % 2 == 0 else arms[::-1]):
            order += [(cond, i) for i in range(start, min(start + block, n))]
    return order


def _neighbour(k: int, cond: str, i: int) -> float:
    """A busy neighbour from the middle of the run on: every unit 3x slower, some jitter."""
    return (0.3 if k >= 40 else 0.1) * (1 + 0.05 * ((i * 7919 + k) % 11) / 11)


def test_a_neighbour_during_one_stretch_does_not_become_an_arm_effect():
    n = 40
    grouped = [("control", i) for i in range(n)] + [("treatment", i) for i in range(n)]
    # grouped: the neighbour lands on the treatment only; the items alone would say
    # "treatment +0.2 s per unit" with a tiny interval — there is no interval at all now
    entry = costs_numbers(_rows(grouped, _neighbour), significance=_significance())
    paired = entry["cost_effectiveness"][0]["paired"]
    assert paired["latency_s"]["mean"] == pytest.approx(0.2, rel=0.1)
    assert paired["latency_s"]["low"] is None and paired["latency_s"]["reason"] == NO_BLOCKS
    assert paired["latency_s"]["method"] == "arm_block_t"
    naive = np.array([_neighbour(n + i, "t", i) - _neighbour(i, "c", i) for i in range(n)])
    naive_entry = paired_interval(naive, np.arange(n), "paired_t")
    assert naive_entry["excludes_zero"]  # what pairing by item alone would have claimed
    # ABBA blocks of 8: the same neighbour, the same identical prompts: the interval holds 0
    for block in (4, 8, 16):
        costs = summarize_costs(_rows(_abba(n, block), _neighbour), significance=_significance())
        effect = costs.cost_effectiveness[0]
        for measure in ("latency_s", "worker_seconds", "cpu_seconds"):
            got = effect.paired[measure]
            assert got.low is not None and got.low <= 0 <= got.high, (block, measure, got)
            assert got.clusters == -(-n // block) and got.pairs == n
        assert effect.metrics["em"].per_extra_second is None
        assert effect.metrics["em"].per_extra_second_reason.startswith("not estimable")


def test_cost_effectiveness_is_not_estimable_when_the_extra_cost_is_indistinguishable():
    rng = np.random.default_rng(3)
    noise = {i: rng.normal(0, 0.01) for i in range(40)}
    # identical prompts: the same tokens; seconds differ by noise only (−0.0002 s on average)
    rows = _rows(_abba(40, 8), lambda k, c, i: 0.5 + (noise[i] if c == "control" else
                                                      noise[(i + 1) % 40]))
    costs = summarize_costs(rows, significance=_significance(0.05))
    effect = costs.cost_effectiveness[0]
    em = effect.metrics["em"]
    assert em.delta == 0.05
    assert em.per_1k_extra_prompt_tokens is None and em.per_extra_second is None
    assert em.per_1k_extra_prompt_tokens_reason.startswith("not estimable")
    assert "cannot be told from 0" in em.per_extra_second_reason
    tokens = effect.paired["prompt_tokens"]
    assert (tokens.mean, tokens.low, tokens.high, tokens.excludes_zero) == (0, 0, 0, False)
    assert tokens.method == "paired_t" and tokens.clusters == 40


def test_a_real_extra_cost_gives_a_ratio_over_the_paired_mean():
    # the treatment's prompt is 84 tokens longer on every item, and each unit 0.2 s slower
    rows = _rows(_abba(40, 8), lambda k, c, i: 0.5 + 0.01 * (i % 5) + (0.2 if c == "treatment"
                                                                         else 0.0),
                 tokens=lambda c, i: 100 + i + (84 if c == "treatment" else 0))
    costs = summarize_costs(rows, significance=_significance(0.1))
    effect = costs.cost_effectiveness[0]
    assert effect.paired["prompt_tokens"].mean == pytest.approx(84)
    assert effect.paired["prompt_tokens"].excludes_zero
    assert effect.paired["worker_seconds"].excludes_zero
    em = effect.metrics["em"]
    assert em.per_1k_extra_prompt_tokens == pytest.approx(0.1 / 84 * 1000)
    assert em.per_extra_second == pytest.approx(0.1 / 0.2, rel=1e-3)
    assert em.per_extra_second_reason == "" and em.per_1k_extra_prompt_tokens_reason == ""


def test_the_paired_fields_round_trip_the_types():
    rows = _rows(_abba(12, 4), lambda k, c, i: 0.1 + 0.01 * k)
    raw = costs_numbers(rows, significance=_significance())
    typed = summarize_costs(rows, significance=_significance())

    def contained(a, b, path="$"):
        if isinstance(a, dict):
            for key, value in a.items():
                assert key in b, f"{path}.{key} dropped by the types"
                contained(value, b[key], f"{path}.{key}")
        elif isinstance(a, list):
            for k, (x, y) in enumerate(zip(a, b, strict=True)):
                contained(x, y, f"{path}[{k}]")
        else:
            assert a == b, path

    contained(raw, msgspec.to_builtins(typed))
    assert set(typed.cost_effectiveness[0].paired) == {
        "prompt_tokens", "total_tokens", "latency_s", "worker_seconds", "cpu_seconds",
        "energy_j"}
    assert typed.cost_effectiveness[0].paired["energy_j"].reason  # no telemetry: no pairs


def test_predictions_without_start_times_pair_by_item_and_say_so():
    pairing = Pairing()
    for cond, extra in (("control", 0.0), ("treatment", 0.05)):
        for i in range(10):
            pairing.add(PredictionRow(custom_id=f"d|i{i}|{cond}|0.0|0|open", condition=cond,
                                      type="open", prompt_tokens=10, completion_tokens=1,
                                      latency_ms=(100 + i + 1000 * extra) * 1.0), None)
    got = pairing.compare("treatment", "control", "open")["latency_s"]
    assert got["method"] == "paired_t" and got["clusters"] == 10 and "no start times" in got["note"]
    assert got["mean"] == pytest.approx(0.05) and got["excludes_zero"]
    assert pairing.compare("treatment", "nobody", "open") == {}
