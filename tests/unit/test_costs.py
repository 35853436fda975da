"""costs.json: token sums and means per arm and type, unknown counts, latency, pricing."""

from __future__ import annotations

import json

import msgspec
import pytest

from evalcli.errors import DataError
from evalcli.inputs.config import PricingConfig
from evalcli.science.costs import costs_numbers, read_costs, summarize_costs, write_costs
from evalcli.science.resources import unit_key
from evalcli.store.predictions import PredictionRow


def row(condition, kind, prompt, completion, status="ok", latency=10.0):
    return PredictionRow(custom_id=f"d|i|{condition}|0.0|0|{kind}", condition=condition,
                         type=kind, prompt_tokens=prompt, completion_tokens=completion,
                         latency_ms=latency, status=status)


ROWS = [
    row("control", "open", 100, 10), row("control", "closed", 50, 5, latency=30.0),
    row("treatment", "open", 300, 12), row("treatment", "closed", 250, 8, status="failed"),
    row("treatment", "closed", 0, 0, status="pending"),
]


def test_tokens_per_arm_and_type_without_prices():
    costs = summarize_costs(ROWS)
    assert costs.pricing is None
    control, treatment = costs.arms["control"], costs.arms["treatment"]
    assert (control.prompt_tokens, control.completion_tokens, control.total_tokens) \
        == (150, 15, 165)
    assert control.mean_prompt_tokens == 75 and control.mean_total_tokens == 82.5
    assert control.by_type["open"].prompt_tokens == 100
    # the failed unit used tokens: counted; the pending one never ran: left out
    assert treatment.units == 2 and treatment.answered == 1 and treatment.failed == 1
    assert treatment.prompt_tokens == 550
    assert control.cost is None and control.cost_per_unit is None
    assert control.latency_ms is not None
    assert control.latency_ms.mean == 20 and control.latency_ms.max == 30
    assert costs.total is not None
    assert costs.total.units == 4 and costs.total.total_tokens == 150 + 15 + 550 + 20


def test_cost_from_prices_per_million():
    pricing = PricingConfig(input_per_million=2.0, output_per_million=10.0, currency="EUR")
    costs = summarize_costs(ROWS, pricing)
    assert costs.pricing == pricing
    assert costs.arms["control"].cost == pytest.approx((150 * 2 + 15 * 10) / 1e6)
    assert costs.arms["control"].cost_per_unit == pytest.approx((150 * 2 + 15 * 10) / 2e6)
    assert costs.total is not None
    assert costs.total.cost == pytest.approx((700 * 2 + 35 * 10) / 1e6)


def test_unknown_token_counts_are_left_out_not_zero():
    rows = [row("control", "open", 100, 10), row("control", "open", -1, -1),
            row("treatment", "open", 120, 10)]
    arm = summarize_costs(rows).arms["control"]
    assert arm.units == 2 and arm.units_without_token_counts == 1
    assert arm.prompt_tokens == 100 and arm.mean_prompt_tokens == 100


def test_no_latency_is_null():
    rows = [row("control", "open", 1, 1, latency=0.0), row("treatment", "open", 1, 1, latency=0.0)]
    assert summarize_costs(rows).arms["control"].latency_ms is None


def test_the_types_keep_every_number_and_the_file_round_trips(tmp_path):
    """A number costs_numbers adds without a field in Costs would be dropped: this fails."""
    pricing = PricingConfig(input_per_million=2.0, output_per_million=10.0)
    used = {"gpu_seconds": 1.5, "gpu_busy_seconds": 1.0, "energy_j": 30.0, "peak_vram_mb": 512.0}
    rows = [msgspec.structs.replace(r, worker=0, started_at=100.0 + i, ended_at=100.5 + i)
            for i, r in enumerate(ROWS)]
    resources = {unit_key(r): used for r in rows}
    kw = dict(unit_resources=resources, idle={**used, "units_measured": 0})
    raw = costs_numbers(rows, pricing, **kw)
    typed = summarize_costs(rows, pricing, **kw)
    assert typed.arms["control"].resources is not None

    def contained(a, b, path="$"):
        if isinstance(a, dict):
            for key, value in a.items():
                assert key in b, f"{path}.{key} dropped by the types"
                contained(value, b[key], f"{path}.{key}")
        else:
            assert a == b, path

    contained(raw, msgspec.to_builtins(typed))
    write_costs(tmp_path / "costs.json", typed)
    assert read_costs(tmp_path / "costs.json") == typed
    (tmp_path / "bad.json").write_text('{"schema_version": 2, "arms": []}', encoding="utf-8")
    with pytest.raises(DataError, match="bad.json: not a valid .*--from costs"):
        read_costs(tmp_path / "bad.json")


def test_pricing_config_decodes_and_validates():
    text = b'input_per_million = 0.5\noutput_per_million = 1.5\n'
    assert msgspec.toml.decode(text, type=PricingConfig).priced
    assert not PricingConfig().priced
    with pytest.raises(msgspec.ValidationError, match="set both"):
        msgspec.toml.decode(b"input_per_million = 0.5\n", type=PricingConfig)
    with pytest.raises(msgspec.ValidationError, match=">= 0"):
        msgspec.toml.decode(b"input_per_million = -1\noutput_per_million = 1\n",
                            type=PricingConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.toml.decode(b"input_per_milion = 1\n", type=PricingConfig)


def test_write_costs_is_plain_json(tmp_path):
    path = tmp_path / "costs.json"
    write_costs(path, summarize_costs(ROWS))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 2 and set(data["arms"]) == {"control", "treatment"}
