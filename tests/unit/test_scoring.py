"""Scoring: SQuAD 2.0 normalisation/EM/F1, abstention on raw text, false answers, unsupported."""

import pytest

from evalcli.inputs.items import Item
from evalcli.science.refusals import echo_sources, is_abstention
from evalcli.science.scoring import (
    AnswerScore,
    exact_match,
    f1_score,
    normalize_answer,
    score_answer,
    unsupported_score,
)

PASSAGE = "The Eiffel Tower was completed in 1889 in Paris, France, by Gustave Eiffel's company."


def open_item(answers, answerable=True):
    return Item(
        dataset="squad",
        item_id="1",
        type="open",
        question="q",
        answers=answers,
        passage=PASSAGE,
        answerable=answerable,
    )


def closed_item(answers):
    return Item(dataset="tqa", item_id="2", type="closed", question="q", answers=answers)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  A  cat, an   apple ", "cat apple"),
        ("Theory of the mind", "theory of mind"),  # \b keeps 'the' inside 'theory'
        ("Paris.", "paris"),
        ("don't", "dont"),
        ("“quoted”", "“quoted”"),  # official script strips ASCII punctuation only
        ("", ""),
    ],
)
def test_normalize_matches_official_squad2(raw, expected):
    assert normalize_answer(raw) == expected


def test_exact_match_max_over_golds_and_empty_gold_rule():
    assert exact_match("the Paris", ["London", "paris"]) == 1.0
    assert exact_match("Paris, France", ["paris"]) == 0.0
    assert exact_match("", []) == 1.0
    assert exact_match("Paris", []) == 0.0
    # golds that normalise to "" are dropped, as in the official script
    assert exact_match("", ["the", "."]) == 1.0


def test_f1_hand_computed():
    # pred tokens: [eiffel, tower, paris] gold: [eiffel, tower] -> P=2/3 R=1 F1=0.8
    assert f1_score("The Eiffel Tower, Paris", ["Eiffel Tower"]) == pytest.approx(0.8)
    # multiset overlap: pred [a1 a1 b] vs gold [a1 b b]: common a1,b = 2, P=R=2/3
    assert f1_score("x x y", ["x y y"]) == pytest.approx(2 / 3)
    assert f1_score("Berlin", ["Paris", "Berlin Germany"]) == pytest.approx(2 / 3)
    assert f1_score("", []) == 1.0
    assert f1_score("Paris", []) == 0.0
    assert f1_score("", ["Paris"]) == 0.0
    assert f1_score("nothing shared", ["Paris"]) == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "I don't know.",
        "I don’t know",
        "i DON‘T   know!",
        "I dont know",
        "I do not know who built it.",
        '"I don\'t know."',
        "**I don't know**",
        "Unknown",
        "unknown.",
        "Cannot be determined from the passage.",
        "The passage does not say.",
        "Not enough information",
        "Unanswerable",
    ],
)
def test_abstentions(text):
    assert is_abstention(text)


@pytest.mark.parametrize(
    "text",
    [
        "Unknown Soldier",
        "the unknown variable is x",
        "I don't knowingly lie",
        "Paris",
        "",
        "Known unknowns",
        "I know: Paris",
    ],
)
def test_not_abstentions(text):
    assert not is_abstention(text)


def test_custom_phrases_are_added_to_the_built_in_patterns():
    assert is_abstention("Pass.", phrases=("pass",))
    assert is_abstention("I don't know", phrases=("pass",))


def test_score_answerable_open():
    s = score_answer("Gustave Eiffel's company", open_item(["Gustave Eiffel's company"]))
    assert s == AnswerScore(em=1.0, f1=1.0, abstained=False, false_answer=None, unsupported=0.0)
    s = score_answer("I don't know.", open_item(["1889"]))
    assert s == AnswerScore(em=0.0, f1=0.0, abstained=True, false_answer=None, unsupported=None,
                            outcome="abstained")


def test_score_unanswerable_open():
    item = open_item([], answerable=False)
    s = score_answer("I don’t know", item)
    assert s == AnswerScore(em=1.0, f1=1.0, abstained=True, false_answer=0.0, unsupported=None,
                            outcome="abstained")
    s = score_answer("In 1889", item)
    assert (s.em, s.f1, s.abstained, s.false_answer, s.unsupported) == (0.0, 0.0, False, 1.0, 0.0)
    s = score_answer("In London", item)
    assert s.false_answer == 1.0 and s.unsupported == 1.0


@pytest.mark.parametrize("text", ["", "  ", "\n\t", "...", "the"])
def test_empty_answer_scores_zero_everywhere_and_is_not_an_abstention(text):
    for item in (open_item([], answerable=False), open_item(["1889"]), closed_item(["Paris"])):
        s = score_answer(text, item)
        assert s.outcome == "empty" and not s.abstained
        assert (s.em, s.f1, s.unsupported) == (0.0, 0.0, None)
        assert s.false_answer == (None if item.answerable else 0.0)


def test_echo_of_the_prompt_scores_zero_and_is_its_own_outcome():
    sources = echo_sources("You are a helpful assistant. Answer the user's questions.")
    item = open_item([], answerable=False)
    s = score_answer("You are a helpful assistant.", item, echo_sources=sources)
    assert s.outcome == "echo" and (s.em, s.f1, s.false_answer, s.abstained) == (0, 0, 0, False)
    assert score_answer("I don't know.", item, echo_sources=sources).outcome == "abstained"
    assert score_answer("You are a helpful assistant.", item).outcome == "answer"


def test_gold_answer_that_looks_like_an_abstention_is_not_one():
    s = score_answer("Unknown", closed_item(["unknown"]))
    assert not s.abstained and s.em == 1.0
    s = score_answer("Unknown Soldier", closed_item(["The Unknown Soldier"]))
    assert not s.abstained and s.em == 1.0


def test_closed_book_has_no_false_answer_or_unsupported():
    s = score_answer("Paris", closed_item(["Paris"]))
    assert s == AnswerScore(em=1.0, f1=1.0, abstained=False, false_answer=None, unsupported=None)


def test_unsupported_strategies():
    assert unsupported_score("Paris, France", PASSAGE) == 0.0
    assert unsupported_score("Paris France 1889", PASSAGE) == 1.0
    assert unsupported_score("Par", PASSAGE) == 1.0  # token-bounded, not a raw substring
    # overlap: 2 of 3 tokens in the passage = 0.67
    assert unsupported_score("Paris France 1889x", PASSAGE, strategy="overlap") == 0.0
    assert (
        unsupported_score("Paris France 1889x", PASSAGE, strategy="overlap", overlap_threshold=0.7)
        == 1.0
    )
    assert unsupported_score("London Berlin", PASSAGE, strategy="overlap") == 1.0
    s = score_answer("London Berlin Paris", open_item(["1889"]), unsupported_strategy="overlap")
    assert s.unsupported == 1.0  # 1/3 < 0.5


def test_unknown_strategy_raises():
    with pytest.raises(ValueError, match="unsupported_strategy"):
        score_answer("x", open_item(["x"]), unsupported_strategy="nli")
