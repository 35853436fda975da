"""Abstention recognition on labelled phrasings (100% agreement required), and echo detection.

Refusals include every phrasing of issue #9; the answers are look-alikes: they contain a
refusal word or start like a refusal but commit to an answer.
"""

import pytest

from evalcli.science.refusals import echo_sources, is_abstention, is_echo
from evalcli.science.scoring import normalize_answer

REFUSALS = [
    # the phrasings named in issue #9
    "Sorry, I don't know.",
    "I'm not sure.",
    "The answer is unknown.",
    "It is not mentioned in the passage.",
    "There is no answer in the text.",
    "This question is unanswerable.",
    "I have no idea.",
    "N/A",
    "I do not have enough information to answer.",
    "The text doesn't provide this information.",
    "I'm sorry, but I cannot answer that.",
    # apostrophe, case, punctuation and wrapping variants
    "I don’t know",
    "I DON'T KNOW!",
    "i dont know",
    "**I don't know.**",
    '"I do not know."',
    "Unknown.",
    "unanswerable",
    "n/a.",
    "No idea",
    "I'm not certain.",
    "I am not sure",
    "Not sure.",
    # other common refusals
    "I don't know the answer.",
    "I don't know who built it.",
    "I cannot answer this question.",
    "I can't determine that from the passage.",
    "I am unable to answer that.",
    "The passage does not say.",
    "The passage doesn't mention who built it.",
    "The context does not contain the answer.",
    "Not mentioned in the text.",
    "This information is not provided in the passage.",
    "There is not enough information to answer the question.",
    "There isn't enough information in the passage.",
    "Insufficient information.",
    "Not enough information to determine.",
    "It cannot be determined from the passage.",
    "The answer cannot be determined.",
    "Cannot be answered from the given text.",
    "Unfortunately, I don't know.",
    "I apologize, but I cannot answer that question.",
    "Sorry, I don't know. The passage does not say.",
    "No answer.",
    "There is no information about this in the passage.",
    "I don't have enough information to answer that.",
]

ANSWERS = [
    "The Unknown Soldier",
    "I'm not sure, but I think it's Paris",
    "Paris",
    "Unknown Pleasures",
    "The unknown variable is x",
    "Paris. I don't know more.",
    "I don't know, maybe 1889.",
    "Not sure, probably Gustave Eiffel.",
    "No Country for Old Men",
    "No Doubt",
    "Nobody Knows",
    "Know Your Enemy",
    "Idea",
    "No",
    "None of the above",
    "Nothing Compares 2 U",
    "The Known World",
    "Unanswered Prayers",
    "Sorry",
    "I Don't Know How to Love Him",
    "The Sound of Silence",
    "It is mentioned in chapter 3.",
    "The passage says 1889.",
    "The text provides the date: 1889.",
    "Not in London but in Paris.",
    "Insufficient funds",
    "Information Society",
    "Cannot Be Stopped by Anyone, a 1990 film",
    "There is a tower in Paris.",
    "I know: it is Paris.",
    "I think it is 1889.",
    "Probably Marie Curie.",
    "N/A Records",
    "Unclear Skies (a 2004 album)",
    "The question is about Paris; the answer is France.",
    "He didn't know the answer, said Einstein.",
    "Answer: 42",
    "Mystery Men",
    "The Invisible Man",
    "Anonymous",
    "I, Robot",
    "No Idea Records",
]


def test_the_suite_is_big_enough():
    assert len(REFUSALS) >= 30 and len(ANSWERS) >= 30 and len(REFUSALS) + len(ANSWERS) >= 80


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals_are_abstentions(text):
    assert is_abstention(text), text


@pytest.mark.parametrize("text", ANSWERS)
def test_look_alikes_are_answers(text):
    assert not is_abstention(text), text


def test_extra_phrases_match_whole_sentences_only():
    assert is_abstention("Pass.", ("pass",))
    assert not is_abstention("Pass the salt.", ("pass",))
    assert not is_abstention("Pass.")
    assert not is_abstention("", ("",))


def test_echo_of_the_system_prompt_or_its_first_sentence():
    system = "You are a helpful assistant. Answer the user's questions accurately and concisely."
    sources = echo_sources(system, "Answer the question below as briefly as possible.")
    assert is_echo(normalize_answer("You are a helpful assistant."), sources)
    assert is_echo(normalize_answer("You are a helpful assistant. The answer is Paris"), sources)
    assert is_echo(normalize_answer("Answer the question below as briefly as possible"), sources)
    assert not is_echo(normalize_answer("a helpful assistant"), sources)  # too short to tell
    assert not is_echo(normalize_answer("Paris"), sources)
    assert not is_echo(normalize_answer("Paris"), ())
