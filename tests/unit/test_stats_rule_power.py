"""The minimum detectable effect of the verdict rule, no figure outside ±1, method labels.

The verdict rule: the 95% headline interval excludes 0 and the primary p (sign-flip) < 0.05.
"""

import math

import numpy as np
import pytest
from scipy import stats

from evalcli.science.per_item import ItemRow
from evalcli.science.stats import paired_difference, sign_flip_test
from evalcli.science.stats.power import rule_items_required, rule_power, rule_power_summary
from evalcli.science.stats.proportions import tango_limits
from evalcli.science.stats.significance import build_significance


def _rule_rejects(b: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    """The verdict rule on paired 0/1 tables: the headline interval (Tango, as
    paired_difference computes it) excludes 0 and the exact sign-flip p < 0.05."""
    lo, hi = tango_limits(n - b - c, b, c, np.zeros_like(b))
    m = b + c
    p = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(b, c), m, 0.5))
    p = np.where(m == 0, 1.0, p)
    return ((lo > 0) | (hi < 0)) & (p < 0.05)


def test_mde_of_300_items_with_3_discordant_has_its_stated_power_in_simulation():
    n = 300
    d = np.zeros(n)
    d[:2], d[2] = 1.0, -1.0  # 3 discordant items of 300
    summary = rule_power_summary(d)
    mde = summary["mde"]
    assert summary["method"] == "exact_binary_rule" and summary["discordance"] == 0.01
    # the normal formula said 1.6 points; the rule needs much more than that
    assert 0.02 < mde < 0.04
    # simulate experiments at the stated MDE: discordance max(observed, effect), all of the
    # effect's changes in its direction
    rng = np.random.default_rng(7)
    reps = 4000
    dis = max(0.01, mde)
    counts = rng.multinomial(n, [(dis + mde) / 2, (dis - mde) / 2, 1 - dis], size=reps)
    b, c = counts[:, 0].astype(float), counts[:, 1].astype(float)
    power = float(np.mean(_rule_rejects(b, c, n)))
    assert power == pytest.approx(0.80, abs=0.05), power
    # ... and the simulation used the interval a run reports and the test's exact limit
    for r in range(4):
        x = np.r_[np.ones(int(b[r])), -np.ones(int(c[r])), np.zeros(n - int(b[r] + c[r]))]
        pd = paired_difference(np.zeros(n) + (x < 0), np.zeros(n) + (x > 0), n_boot=0)
        lo, hi = tango_limits(n - b[r] - c[r], b[r], c[r], 0.0)
        assert (pd["ci_low"], pd["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
        exact = min(1.0, 2.0 * stats.binom.cdf(min(b[r], c[r]), b[r] + c[r], 0.5))
        mc = sign_flip_test(x, n_perm=4000, seed=r)["p_value"]
        assert mc == pytest.approx(exact, abs=0.03)


def test_rule_power_matches_the_issue_figures_and_items_required_reaches_the_power():
    # issue #25: the rule's power at 1.6 / 2.05 / 2.5 points was 35 / 58 / 76%
    assert [round(rule_power(300, 0.01, e), 2) for e in (0.016, 0.0205, 0.025)] == [
        0.35, 0.58, 0.76]
    need = rule_items_required(0.2, 0.05)
    assert rule_power(need, 0.2, 0.05) >= 0.8 > rule_power(need - 5, 0.2, 0.05)


def test_mde_is_fast_and_absent_when_nothing_is_detectable():
    import time

    rng = np.random.default_rng(1)
    d = np.where(rng.random(2000) < 0.3, rng.choice([-1.0, 1.0], 2000), 0.0)
    rule_power_summary(d)
    started = time.perf_counter()
    s = rule_power_summary(d)
    assert time.perf_counter() - started < 1.0
    assert 0 < s["mde"] < 0.1 and all(v > 0 for v in s["items_required"].values())
    # five items: even every item changing one way gives p = 0.0625 — no MDE, a note says so
    s = rule_power_summary(np.ones(5))
    assert math.isnan(s["mde"]) and "no difference" in s["note"]
    # partial scores: the jump-scaled table, labelled as such, MDE within [0, 1]
    s = rule_power_summary(np.where(rng.random(200) < 0.2, rng.uniform(-0.5, 1, 200), 0.0))
    assert s["method"] == "scaled_table_rule" and 0 < s["mde"] <= 1


def _rows(control: list[float], treatment: list[float]) -> list[ItemRow]:
    rows = []
    for cond, values in (("control", control), ("treat", treatment)):
        for i, v in enumerate(values):
            rows.append(ItemRow(item_key=f"d|{i}", dataset="d", type="closed", group="",
                                condition=cond, temp=0.0, n_samples=1, em=float(v >= 1),
                                f1=v, abstain_rate=0.0))
    return rows


def _points(m: dict) -> list[float]:
    """Every figure of a metric block that the report prints in points (a difference)."""
    keys = ("delta", "ci_low", "ci_high", "clt_low", "clt_high", "boot_low", "boot_high",
            "hodges_lehmann")
    out = [getattr(m, k) for k in keys]
    out += [m.tost.mean_delta, m.tost.ci_low, m.tost.ci_high] if m.tost else []
    out.append(m.power.mde if m.power else None)
    return [x for x in out if x is not None]


def test_three_items_give_no_figure_outside_plus_minus_one():
    out = build_significance(_rows([0.0, 1.0, 0.2], [1.0, 0.0, 0.9]), control="control",
                             n_boot=200, n_perm=200)
    for metric, m in out.comparisons[0].metrics.items():
        assert all(-1.0 <= x <= 1.0 for x in _points(m)), (metric, _points(m))
        assert m.ci_low is None and m.ci_high is None and m.ci_method == "none"
        assert m.ci_note and "too few items" in m.ci_note
        assert m.tost is None or m.tost.equivalent is None
        assert m.power is not None and m.power.mde is None


def test_identical_f1_differences_are_labelled_by_the_interval_computed():
    out = build_significance(_rows([0.2] * 12, [0.7] * 12), control="control", n_boot=200,
                             n_perm=200)
    f1 = out.comparisons[0].metrics["f1"]
    assert f1.ci_method == "tango_scaled_score" and f1.ci_note is None
    assert f1.ci_low is not None and f1.ci_high is not None
    assert -1.0 <= f1.ci_low < 0.5 < f1.ci_high <= 1.0
    assert f1.tost is not None and f1.tost.method == "tango_score"


def test_paired_intervals_of_scores_are_cut_to_plus_minus_one():
    c = np.zeros(10)
    t = np.r_[np.ones(9), 0.0]
    r = paired_difference(c, t, n_boot=500)
    for k in ("ci_low", "ci_high", "clt_low", "clt_high", "boot_low", "boot_high"):
        assert -1.0 <= r[k] <= 1.0, k
