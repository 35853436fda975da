"""build_significance: pairing, the BH family, subgroups, meta, JSON safety, determinism."""

import json
import subprocess
import sys

import msgspec
import numpy as np
import pytest

from evalcli.science.per_item import ItemRow
from evalcli.science.stats import benjamini_hochberg, paired_difference
from evalcli.science.stats.schema import Significance, read_significance, write_significance
from evalcli.science.stats.significance import (
    SCHEMA_VERSION,
    build_significance,
    significance_numbers,
)


def make_rows(n=60, seed=0, lift=0.15, temps=(0.0,), datasets=("sq", "tq")):
    rng = np.random.default_rng(seed)
    rows = []
    for temp in temps:
        for ds in datasets:
            for i in range(n):
                typ = "open" if ds == "sq" else "closed"
                unans = typ == "open" and i % 4 == 0
                base = rng.random() < 0.5
                for cond in ("control", "treat"):
                    p_right = 0.5 + (lift if cond == "treat" else 0.0)
                    em = float(rng.random() < p_right) if not base else float(rng.random() < 0.6)
                    abst = float(rng.random() < 0.1)
                    rows.append(
                        ItemRow(
                            item_key=f"{ds}|{i}",
                            dataset=ds,
                            type=typ,
                            group=f"p{i // 3}" if typ == "open" else "",
                            condition=cond,
                            temp=temp,
                            n_samples=1,
                            em=em,
                            f1=min(1.0, em + 0.1 * rng.random()),
                            abstain_rate=abst,
                            false_answer_rate=(1.0 - abst) if unans else None,
                            unsupported_rate=float(rng.random() < 0.2)
                            if typ == "open" and not abst
                            else None,
                        )
                    )
    return rows


def _contained(raw, typed, path="$"):
    """Every key and value of `raw` is in `typed` (which may add keys with defaults)."""
    if isinstance(raw, dict):
        assert isinstance(typed, dict), path
        for key, value in raw.items():
            assert key in typed, f"{path}.{key} dropped by the types"
            _contained(value, typed[key], f"{path}.{key}")
    elif isinstance(raw, list):
        assert isinstance(typed, list) and len(raw) == len(typed), path
        for i, (a, b) in enumerate(zip(raw, typed, strict=True)):
            _contained(a, b, f"{path}[{i}]")
    else:
        assert raw == typed, f"{path}: {raw!r} != {typed!r}"


@pytest.mark.parametrize("kw", [dict(n=60), dict(n=1, datasets=("tq",)),
                                dict(n=30, temps=(0.0, 0.7), datasets=("sq", "tq", "sq2"))])
def test_the_types_keep_every_number_the_statistics_compute(kw, tmp_path):
    """A key a statistic adds without a field in schema.py would be dropped silently: this
    fails instead. The file round-trips through read_significance unchanged."""
    rows = make_rows(**kw)
    raw = significance_numbers(rows, control="control", n_boot=100, n_perm=100)
    typed = build_significance(rows, control="control", n_boot=100, n_perm=100)
    _contained(raw, msgspec.to_builtins(typed))
    path = tmp_path / "significance.json"
    write_significance(path, typed)
    json.loads(path.read_text(encoding="utf-8"))  # strict JSON: no NaN
    assert read_significance(path) == typed


def test_a_damaged_file_is_one_line_naming_it(tmp_path):
    from evalcli.errors import DataError

    path = tmp_path / "significance.json"
    path.write_text('{"schema_version": 2, "settings": []}', encoding="utf-8")
    with pytest.raises(DataError, match="significance.json: not a valid"):
        read_significance(path)
    with pytest.raises(DataError, match="missing"):
        read_significance(tmp_path / "nope.json")


def test_structure():
    out = build_significance(make_rows(), control="control", n_boot=300, n_perm=300)
    assert isinstance(out, Significance) and out.schema_version == SCHEMA_VERSION
    assert out.conditions == ["control", "treat"] and out.types == ["closed", "open"]
    comps = out.comparisons
    assert {(c.type, c.dataset) for c in comps} == {("closed", "all"), ("open", "all")}
    closed = next(c for c in comps if c.type == "closed")
    assert set(closed.metrics) == {"em", "f1", "abstain_rate"}
    open_ = next(c for c in comps if c.type == "open")
    assert set(open_.metrics) == {"em", "f1", "abstain_rate", "false_answer_rate",
                                  "unsupported_rate"}
    assert open_.clustered and open_.metrics["em"].se_method == "cluster_robust"
    assert open_.metrics["false_answer_rate"].n == 15
    em = closed.metrics["em"]
    for value in (em.control_mean, em.treatment_mean, em.delta, em.ci_low, em.ci_high,
                  em.clt_low, em.clt_high, em.p_value, em.q_value, em.hodges_lehmann):
        assert isinstance(value, float)
    assert em.tost is not None and em.tost.margin == 0.02
    assert em.power is not None and em.power.mde is not None
    assert closed.mcnemar.odds_ratio is not None and closed.mcnemar.or_ci_low is not None
    assert closed.selective is not None and closed.selective.control.aurc is not None


def test_metric_values_match_the_plain_functions():
    rows = make_rows(n=80, datasets=("tq",))
    out = build_significance(rows, control="control", n_boot=500, n_perm=200)
    em = out.comparisons[0].metrics["em"]
    ctrl = np.array([r.em for r in rows if r.condition == "control"])
    trt = np.array([r.em for r in rows if r.condition == "treat"])
    ref = paired_difference(ctrl, trt, n_boot=0)
    assert em.delta == pytest.approx(ref["delta"]) and em.se == pytest.approx(ref["se"])
    assert em.p_value_t == pytest.approx(ref["p_value"])


def test_bh_family_is_all_metric_primary_p_of_dataset_all():
    rows = make_rows(temps=(0.0, 0.7), datasets=("sq", "tq", "sq2"))
    # make "sq2" open-book too, so open has two dataset subgroups
    rows = [msgspec.structs.replace(r, type="open") if r.dataset == "sq2" else r for r in rows]
    out = build_significance(rows, control="control", n_boot=200, n_perm=200)
    family = [m for c in out.overall() for m in c.metrics.values()]
    assert out.settings.family_size == len(family) == 2 * (3 + 5)
    qs = benjamini_hochberg([m.p_value for m in family])
    assert [m.q_value for m in family] == pytest.approx(qs)
    subs = [c for c in out.comparisons if c.dataset != "all"]
    assert {c.dataset for c in subs} == {"sq", "sq2"}
    assert all(m.q_value is None for c in subs for m in c.metrics.values())
    meta = [m for m in out.meta if m.metric == "em"]
    assert len(meta) == 2 and all(m.k == 2 and m.heterogeneity.df == 1 for m in meta)


def test_deterministic_and_unpaired_items_reported():
    rows = make_rows(n=40, datasets=("tq",))
    rows = [r for r in rows if not (r.condition == "treat" and r.item_key == "tq|3")]
    a = build_significance(rows, control="control", n_boot=200, n_perm=200, seed=5)
    b = build_significance(rows, control="control", n_boot=200, n_perm=200, seed=5)
    assert a == b
    comp = a.comparisons[0]
    assert comp.n_items == 39 and comp.n_unpaired_control == 1
    assert a.warnings


def test_errors_name_the_problem():
    rows = make_rows(n=5, datasets=("tq",))
    with pytest.raises(ValueError, match="control condition 'base'"):
        build_significance(rows, control="base")
    with pytest.raises(ValueError, match="two score rows"):
        build_significance(rows + rows[:1], control="control")


def test_tiny_inputs_do_not_crash():
    rows = make_rows(n=1, datasets=("tq",))
    out = build_significance(rows, control="control", n_boot=100, n_perm=100)
    json.dumps(msgspec.to_builtins(out), allow_nan=False)
    em = out.comparisons[0].metrics["em"]
    assert em.n == 1 and em.ci_low is None and em.se is None
    only_control = [r for r in rows if r.condition == "control"]
    out = build_significance(only_control, control="control")
    assert out.comparisons == []


def test_scoring_and_stats_import_no_engine_or_ipc():
    code = (
        "import sys, evalcli.science.scoring, evalcli.science.stats, evalcli.science.stats.significance; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipc', 'engines')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_em_values_are_skipped_not_fatal():
    rows = make_rows(n=20, datasets=("tq",))
    rows[0] = msgspec.structs.replace(rows[0], em=None)
    out = build_significance(rows, control="control", n_boot=100, n_perm=100)
    assert out.comparisons[0].metrics["em"].n == 19
