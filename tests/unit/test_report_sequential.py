"""The wording of a sequential run's result: the report headline and the console line."""

from __future__ import annotations

import msgspec

from evalcli.report.sequential import report_blocks, sentence
from evalcli.report.text import esc
from evalcli.run.stopping import Look
from evalcli.store.manifest import Stopping


def _stopping(decision: str, lo: float, hi: float, *, early: bool = True, metric: str = "em",
              **arms) -> Stopping:
    look = Look(blocks=9, items=176, of_items=800, control_mean=0.5, treatment_mean=0.5,
                estimate=(lo + hi) / 2, lo=lo, hi=hi, decision=decision,
                higher_is_better=None if metric == "abstain_rate" else True)
    direction = look.direction
    return msgspec.convert(
        {"metric": metric, "control": arms.get("control", "control"),
         "treatment": arms.get("treatment", "treatment"), "alpha": 0.05, "margin": 0.02,
         "min_items": 40, "block_size": 20, "items_planned": 800,
         "stopped_early": early, "skipped_units": 1248,
         "look": {"blocks": 9, "items": 176, "of_items": 800, "estimate": (lo + hi) / 2,
                  "lo": lo, "hi": hi, "decision": decision, "direction": direction}},
        Stopping)


def test_difference_names_the_better_arm_and_the_interval():
    assert sentence(_stopping("difference", 0.041, 0.198)).startswith(
        "stopped after 176 of 800 items: treatment better, anytime-valid 95% CI "
        "[+4.1, +19.8] points")
    assert "control better" in sentence(_stopping("difference", -0.2, -0.03))


def test_equivalence_maximum_and_a_run_that_went_to_the_end():
    assert "equivalent within +/-2.0 points" in sentence(_stopping("equivalence", -0.01, 0.01))
    text = sentence(_stopping("maximum", -0.05, 0.08, early=False))
    assert text.startswith("ran 176 of 800 items: no verdict within the maximum")
    assert text.isascii()


def test_the_report_labels_fixed_n_p_values_and_escapes_arm_names():
    blocks = report_blocks(_stopping("difference", 0.041, 0.198, treatment="*bold* [x](y)"))
    assert esc("*bold* [x](y)") in blocks[0] and "*bold* [x]" not in blocks[0]
    assert "optionally stopped sample" in blocks[1] and "1248" in blocks[1]
    full = report_blocks(_stopping("maximum", -0.05, 0.08, early=False))
    assert "optionally stopped" not in full[1]


def test_the_direction_words_are_the_fixed_n_verdicts_for_every_stopping_metric():
    # abstaining more is neither better nor worse: the words say what happened, as the
    # fixed-n verdict does ("declines to answer more often"), never "treatment better"
    more = sentence(_stopping("difference", 0.05, 0.2, metric="abstain_rate"))
    assert "treatment declines to answer more often than control" in more
    assert "better" not in more
    less = sentence(_stopping("difference", -0.2, -0.05, metric="abstain_rate"))
    assert "treatment declines to answer less often than control" in less
    assert "treatment better" in sentence(_stopping("difference", 0.05, 0.2, metric="f1"))
    assert "control better" in sentence(_stopping("difference", -0.2, -0.05, metric="em"))


def test_a_group_sequential_stop_names_the_design_the_look_and_the_repeated_interval():
    stopping = msgspec.structs.replace(
        _stopping("difference", 0.02, 0.215), design="group-sequential",
        spending="power 1.5", items_planned=208, min_items=40, block_size=20)
    stopping.look.look_number, stopping.look.bound, stopping.look.of_items = 4, 2.61, 208
    stopping.look.items = 100
    stopping.look.adjusted_estimate = 0.097
    text = sentence(stopping)
    assert text.startswith("stopped at look 4 of 10, after 100 of a planned maximum of 208 "
                           "items: treatment better, repeated 95% CI [+2.0, +21.5] points")
    assert "median-unbiased estimate +9.7, plain mean +11.8" in text
    note = report_blocks(stopping)[1]
    assert "group-sequential with power 1.5 alpha-spending" in note
    assert "planned maximum of 208 items and 10 looks" in note and "|z| >= 2.61" in note
    assert "anytime-valid" not in text and "optionally stopped sample" in note
