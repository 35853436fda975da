"""The report's per-arm outcome counts: the max_tokens warning rule, and the list of short
answers to unanswerable items that were scored as answers."""

from __future__ import annotations

import pytest

from evalcli.report.outcomes import outcome_rows, outcome_warnings
from evalcli.science.per_item import ItemRow, ItemTable, as_table
from evalcli.science.review import SHORT_WORDS, SHOWN, AnswerReview


def _table(arms: dict[str, tuple[int, int]], slug_items: int = 1) -> dict[str, ItemTable]:
    """One trial; per condition (scored answers, of them cut at max_tokens), one item row."""
    rows = [ItemRow(item_key=f"d|{i}", dataset="d", type="open", condition=cond, temp=0.0,
                    n_samples=scored, n_truncated=cut, abstain_rate=0.0, answerable=True)
            for i in range(slug_items) for cond, (scored, cut) in arms.items()]
    return {"t": as_table(rows)}


@pytest.mark.parametrize("arms, warned", [
    ({"control": (100, 0), "treatment": (100, 0)}, False),     # nothing cut
    ({"control": (100, 1), "treatment": (100, 2)}, False),     # rare and alike
    ({"control": (100, 6), "treatment": (100, 6)}, True),      # > 5% in an arm
    ({"control": (100, 0), "treatment": (100, 3)}, True),      # the arms differ by 3 points
    ({"control": (1000, 1), "treatment": (1000, 0)}, False),   # 0.1 point apart
])
def test_the_max_tokens_warning_fires_on_a_high_share_or_a_gap_between_arms(arms, warned):
    warnings = [w for w in outcome_warnings(_table(arms)) if "max_tokens" in w]
    assert bool(warnings) is warned
    if warned:
        assert "`control`" in warnings[0] and "`treatment`" in warnings[0]


def test_the_outcome_table_has_the_cut_answers_column():
    [control, treatment] = outcome_rows(_table({"control": (10, 0), "treatment": (10, 4)}))
    assert control[7] == "0 (0%)" and treatment[7] == "4 (40%)"


def test_a_per_item_file_from_before_the_column_counts_zero(tmp_path):
    path = tmp_path / "per_item_scores.csv"
    path.write_text("item_key,dataset,type,condition,temp,n_samples,n_failed,abstain_rate\n"
                    "d|1,d,open,control,0.0,3,0,0.0\n", encoding="utf-8")
    assert outcome_rows({"t": ItemTable.read(path)})[0][7] == "0 (0%)"


def test_review_counts_short_answers_case_and_punctuation_folded_most_frequent_first():
    review = AnswerReview()
    for text in ["Not in the text.", "not in the text", "  Not in   the text! ", "Paris",
                 "word " * (SHORT_WORDS + 1), ""]:
        review.add("control", text)
    review.add("treatment", "Paris")
    out = review.result()
    control = out.arms["control"]
    assert control.answers_on_unanswerable == 6  # every answer counts, short or not
    assert [(a.text, a.count) for a in control.short] == [("Not in the text.", 3), ("Paris", 1)]
    assert out.arms["treatment"].short[0].count == 1


def test_review_keeps_only_the_most_frequent():
    review = AnswerReview()
    for i in range(SHOWN + 5):
        for _ in range(i + 1):
            review.add("c", f"answer {i}")
    short = review.result().arms["c"].short
    assert len(short) == SHOWN and short[0].text == f"answer {SHOWN + 4}"
    assert [a.count for a in short] == sorted((a.count for a in short), reverse=True)
