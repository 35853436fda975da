"""Every verdict branch, its wording and numbers, and the TOST / MDE line a null needs."""

import msgspec

from evalcli.report.numbers import p_is
from evalcli.report.verdict import tost_line, verdict
from evalcli.science.per_item import ItemRow
from evalcli.science.stats.schema import MetricStats
from evalcli.science.stats.significance import build_significance


def metric(**kw) -> MetricStats:
    """A significance.json metric block, typed the way the report reads it."""
    base = {"n": 50, "delta": 0.1, "ci_low": 0.05, "ci_high": 0.15, "p_value": 0.001,
            "q_value": 0.004,
            "tost": {"margin": 0.02, "equivalent": False, "p_value": 0.9, "ci_low": 0.06,
                     "ci_high": 0.14, "ci_level": 0.9},
            "power": {"mde": 0.083, "power": 0.8}}
    block = {**base, **kw}
    if block["tost"] is not None:
        block["tost"] = {"alpha": 0.05, **block["tost"]}
    if block["power"] is not None:
        block["power"] = {"alpha": 0.05, **block["power"]}
    return msgspec.convert(block, MetricStats)


def test_p_values_read_as_sentences():
    assert p_is("p", 0.0004) == "p < 0.001"
    assert p_is("q", 0.02) == "q = 0.020"
    assert "= <" not in verdict(metric(p_value=1e-6, q_value=1e-5), "em", "B", "A", "x").text


def test_better_worse_different():
    v = verdict(metric(), "em", "B", "A", "open-book, T=0")
    assert v.status == "better" and "`B` gets more answers exactly right than `A`" in v.text
    assert verdict(metric(delta=-0.1, ci_low=-0.15, ci_high=-0.05), "f1", "B", "A",
                   "x").status == "worse"
    v = verdict(metric(delta=-0.2, ci_low=-0.3, ci_high=-0.1), "false_answer_rate", "B", "A", "x")
    assert v.status == "better"
    assert verdict(metric(), "abstain_rate", "B", "A", "x").status == "different"
    assert "+10.0 points [95% CI 5.0, 15.0], p = 0.001 (q = 0.004) on 50 paired items" in \
        verdict(metric(), "em", "B", "A", "x").text


def test_suggestive_after_correction():
    v = verdict(metric(p_value=0.03, q_value=0.09), "em", "B", "A", "x")
    assert v.status == "suggestive" and "not significant after correcting" in v.text
    assert "q = 0.090" in v.text


def test_q_below_005_is_never_called_not_significant_after_correcting():
    # the CI includes 0 but q = 0.020: the test rejects, the interval does not
    v = verdict(metric(ci_low=-0.01, p_value=0.01, q_value=0.02), "em", "B", "A", "x")
    assert v.status == "suggestive"
    assert "not significant after correcting" not in v.text
    assert "the test rejects, but the 95% interval includes 0" in v.text and "q = 0.020" in v.text


def test_suggestive_interval_only():
    v = verdict(metric(p_value=0.08, q_value=0.2), "em", "B", "A", "x")
    assert v.status == "suggestive" and "permutation test does not reject" in v.text


def test_null_result_states_tost_and_mde():
    v = verdict(metric(delta=0.004, ci_low=-0.03, ci_high=0.04, p_value=0.7, q_value=0.8),
                "em", "B", "A", "x")
    assert v.status == "none" and "no detectable difference" in v.text
    assert "not shown equivalent within ±2.0 points" in v.text.lower()
    assert "could miss effects smaller than 8.3 points" in v.text
    eq = metric(delta=0.001, ci_low=-0.01, ci_high=0.012, p_value=0.8, q_value=0.9,
                tost={"margin": 0.02, "equivalent": True, "p_value": 0.004, "ci_low": -0.008,
                      "ci_high": 0.01, "ci_level": 0.9},
                power={"mde": 0.015, "power": 0.8})
    v = verdict(eq, "em", "B", "A", "x")
    assert "Equivalent within ±2.0 points (TOST p = 0.004, 90% CI -0.8, 1.0)" in v.text
    assert "smaller than 1.5 points" in v.text


def test_metric_without_margin_says_so():
    assert "No equivalence margin" in tost_line(metric(tost=None))


def test_insufficient():
    assert verdict(metric(n=1), "em", "B", "A", "x").status == "insufficient"
    assert verdict(metric(delta=None), "em", "B", "A", "x").status == "insufficient"


def test_names_are_code_spans_that_backticks_cannot_break():
    v = verdict(metric(), "em", "tr`eat", "A", "set `x`: open-book")
    assert "``tr`eat``" in v.text and "set \\`x\\`: open-book" in v.text


def test_below_the_minimum_n_there_is_no_interval_no_equivalence_and_no_mde():
    # 5 items, every pair equal: the statistics give no interval, TOST or MDE, and say why;
    # the verdict says so instead of printing a figure (it was a CI of ±43 points)
    rows = [ItemRow(item_key=f"d|{i}", dataset="d", type="open", condition=cond, temp=0.0,
                    em=1.0, f1=1.0, abstain_rate=0.0)
            for i in range(5) for cond in ("A", "B")]
    sig = build_significance(rows, control="A", n_boot=50, n_perm=50)
    em = sig.comparisons[0].metrics["em"]
    assert em.ci_low is None and em.ci_note and "too few items" in em.ci_note
    v = verdict(em, "em", "B", "A", "x")
    assert v.status == "insufficient" and "too few items for an interval" in v.text
    assert "CI" not in v.text and "Equivalent within" not in v.text
    assert "not assessed" in tost_line(em) and "cannot be estimated" in tost_line(em)


def test_every_verdict_names_the_two_it_compares():
    """compare.md lists many pairs: a bullet that does not say which two cells it compares
    cannot be read (the suggestive and too-few-items wordings used not to)."""
    cases = [metric(), metric(p_value=0.03, q_value=0.09), metric(ci_low=-0.01, p_value=0.01,
             q_value=0.02), metric(p_value=0.08, q_value=0.2),
             metric(delta=0.004, ci_low=-0.03, ci_high=0.04, p_value=0.7, q_value=0.8),
             metric(n=1), metric(ci_note="too few items for an interval")]
    statuses = set()
    for m in cases:
        v = verdict(m, "em", "run-b:treatment", "run-a:control", "closed-book")
        statuses.add(v.status)
        assert "`run-b:treatment`" in v.text and "`run-a:control`" in v.text, v.text
    assert statuses == {"better", "suggestive", "none", "insufficient"}
