"""Abstention recognition on labelled phrasings (100% agreement required), and echo detection.

REFUSALS and LOOK_ALIKES are grouped by kind. Refusals include every phrasing of issue #9
and every kind the held-out set of issue #25 missed; look-alikes contain a refusal word or
start like a refusal but commit to an answer. tests/unit/data/refusals_heldout.txt is a
second set written before the detector, in another style, scored apart. The property tests
wrap refusals in apologies, hedges, labels, quotes, case and punctuation (still refusals) and
append a candidate answer (then an answer).
"""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalcli.inputs.items import Item
from evalcli.science.refusals import echo_sources, is_abstention, is_echo
from evalcli.science.scoring import normalize_answer, score_answer

REFUSALS: dict[str, list[str]] = {
    "issue #9": [
        "Sorry, I don't know.", "I'm not sure.", "The answer is unknown.",
        "It is not mentioned in the passage.", "There is no answer in the text.",
        "This question is unanswerable.", "I have no idea.", "N/A",
        "I do not have enough information to answer.",
        "The text doesn't provide this information.", "I'm sorry, but I cannot answer that.",
    ],
    "issue #25: the kinds the held-out set missed": [
        "Unable to answer.", "Cannot say.", "Not specified.", "Information not available.",
        "I'm afraid I can't answer that.", "Honestly, I don't know.", "Answer: unknown",
        "Not stated in the passage.", "This is not mentioned in the text.",
        "The passage is silent on this.", "It's impossible to determine.",
        "There's no way of knowing.", "i cant answer that",
        "I don't know. The passage only covers the construction.",
        "I'm unable to answer that.", "I am unable to answer that.",
        "I'm not able to answer that question.",
    ],
    "not knowing": [
        "I don't know the answer.", "I don't know who built it.", "I do not know.",
        "I really don't know.", "I have no clue.", "No clue.", "I'm uncertain.",
        "I'm not certain.", "I am not sure about that.", "Not sure.", "Unsure.",
        "I'm not sure when it was built.", "I don't know whether it was finished.",
        "Nobody knows.", "No one can say.", "I'm not 100% sure.", "Who knows?",
        "I couldn't say.", "Beats me.", "Your guess is as good as mine.",
        "I don't know the exact year.", "I'm not positive.", "Not that I know of.",
        "I'm not aware of any such information.", "I have no knowledge of this.",
        "There's no definitive answer.", "There is no telling.", "I have no comment.",
        "I don't recall.",
    ],
    "cannot answer / determine / find / confirm": [
        "I cannot answer this question.", "I can't determine that from the passage.",
        "I cannot determine the answer based on the given text.", "Can't tell.",
        "It cannot be determined.", "This can't be answered from the context.",
        "I'm unable to determine who designed it.", "I couldn't find the answer in the text.",
        "I can't confirm that.", "I am not able to verify this from the passage.",
        "It's not possible to tell from the passage.", "Impossible to say.",
        "Hard to say.", "There is no way to know.", "That can't be known from the text.",
        "I am not in a position to say.", "I can't help with that one.",
        "We cannot infer this from the information provided.",
    ],
    "the source does not say": [
        "The passage does not say.", "The passage doesn't mention who built it.",
        "The context does not contain the answer.", "Not mentioned in the text.",
        "This information is not provided in the passage.", "It isn't stated.",
        "The text never specifies the year.", "The article makes no mention of it.",
        "There is no mention of the architect in the passage.", "Not given.",
        "Not provided in the context.", "Not covered by the passage.",
        "The passage is silent about the architect.", "The text is unclear on this.",
        "The document says nothing about the date.", "The excerpt does not give a name.",
        "No such information appears in the passage.", "Nothing in the text indicates this.",
        "That's beyond the scope of the passage.", "This is outside the given context.",
        "The information is missing from the passage.", "None given.",
        "None stated in the text.", "The passage doesn't address when.",
        "The answer isn't in the passage.", "The article tells us little about that.",
        "The passage does not contain the answer to the question of who built the tower.",
        "The given passage has no answer to this question.", "No details are given.",
        "This isn't something the passage answers.", "Not determinable from the text.",
        "The text does not state it.", "The passage fails to name the author.",
        "It never lists the date.", "I don't know the year the bridge was built.",
        "It's not clear from the text who designed it.", "Nothing about this appears in the text.",
    ],
    "a subject that restates the question": [
        "The architect is not mentioned in the passage.", "The cause remains unknown.",
        "Its exact location is not specified.", "Einstein's birthplace is not mentioned.",
        "Who built it is not stated.", "When it was built is unknown.",
        "The name of the architect is not given.", "No date is given in the passage.",
        "The date of construction is not stated in the text.", "No specific year is mentioned.",
        "The architect of the Eiffel Tower is not named in the passage.",
        "The winner cannot be determined from the text.", "Author: not mentioned",
        "Year of construction: not stated.",
    ],
    "not enough information": [
        "There is not enough information to answer the question.",
        "There isn't enough information in the passage.", "Insufficient information.",
        "Not enough information to determine.", "Not enough info.",
        "I don't have enough context to answer.", "There's insufficient data.",
        "The passage lacks this information.", "I lack the details to answer this.",
        "There is no information about this in the passage.",
        "I don't have enough information to answer that.", "No information.",
        "No data available.", "Insufficient evidence in the text.",
        "As an AI language model, I don't have access to that information.",
        "I do not possess that information.",
    ],
    "scope, competence, requests for what is missing": [
        "That is beyond my knowledge.", "This falls outside the scope of the passage.",
        "I'm not equipped to answer that.", "I'd prefer not to guess.",
        "I can't draw a conclusion from this text.", "I'm unable to respond to that.",
        "The evidence is insufficient.", "The context provided is incomplete.",
        "I do not understand the question.", "The question is ambiguous.",
        "There is no reliable information available.", "It's difficult to predict.",
        "We need more information.", "I would need to know the year of construction.",
        "Please provide more context.", "Could you share more details?",
        "I haven't heard of that.", "I can't tell you the author.",
    ],
    "asking for the question again, declining to disclose": [
        "Sorry, I'm having trouble understanding the question.", "Could you rephrase that?",
        "Would you mind clarifying what you mean?", "I don't think I understood the question.",
        "Could you provide some more background?", "I'm not at liberty to say.",
        "I'd rather not talk about that.", "Sorry, that's confidential.",
        "I'd rather not share that.", "I'm not allowed to say.",
    ],
    "more model phrasings (second probe)": [
        "I'm sorry, I can't find any information about that in the passage.",
        "This question can't be answered using the provided text.",
        "The provided passage doesn't contain enough information to answer this question.",
        "The text provided does not mention anything about the author's birthplace.",
        "The answer is not in the context.",
        "I do not have the information needed to answer this question.",
        "The passage does not say when the castle was built. It only describes its architecture.",
        "That's not something the text tells us.", "The excerpt doesn't give that detail.",
        "No, the passage doesn't say.", "Sorry, there's no mention of that.",
        "The passage does not contain any information regarding this.",
        "I'm unable to locate that information in the passage.",
        "Hmm, I'm not seeing that in the text.", "I'm not seeing any mention of a date.",
        "The passage doesn't seem to say.", "Doesn't say.", "Not in the passage.",
        "Info not provided.", "No info.", "Data unavailable.", "Answer not found.",
        "Not found in the context.",
        "The context does not provide sufficient information to determine the answer.",
        "The answer to that is not given.", "Unable to determine from the passage.",
        "Cannot determine from the given information.",
        "There's no answer to that in the text provided.",
        "The passage makes no reference to the architect's name.",
        "I don't see that information in the passage.", "That isn't covered.",
        "That's not covered in the passage.", "I can't answer that — it isn't in the text.",
        "There isn't any information on that.", "This is not addressed in the passage.",
        "The passage is unclear about who built it.", "The text leaves this unanswered.",
        "It's unknown from the given text.", "The passage does not indicate which team won.",
        "Answer: The passage does not specify.", "Response: I don't know.",
        "(The passage does not say.)",
        "I'm afraid I don't have enough information to answer that.",
        "Unfortunately, the passage doesn't provide this detail.",
        "Not enough details are provided to answer the question.",
        "I do not have sufficient data to answer.",
        "I'm not in a position to answer that based on the passage.", "There's no way to tell.",
        "Who can tell?", "It's hard to know for sure.", "I really couldn't tell you.",
        "The passage provides no clear answer.",
        "The text does not offer an answer to this question.", "Not determined.",
        "No idea, sorry!", "Don't know.", "dont know", "No clue, sorry.",
        "I'm uncertain about that.", "I lack the context to answer this.",
        "The context lacks that information.", "That detail is absent from the passage.",
        "Nothing is said about that.", "The passage is mute on this point.", "Insufficient info.",
        "I'm not able to say.", "I'd rather not guess.", "I won't guess.", "I can't be sure.",
        "Not answerable from the passage.",
    ],
    "terse": [
        "Unknown.", "unanswerable", "n/a.", "N.A.", "Not applicable.", "No answer.",
        "Unspecified.", "Undetermined.", "Unclear.", "Not known.", "Not stated.",
        "Not available.", "Cannot be determined.", "idk", "Dunno.", "No idea",
        "Unknowable.", "Indeterminate.", "Not found.", "Unavailable.",
    ],
    "apology, hedge, label": [
        "Unfortunately, I don't know.", "I apologize, but I cannot answer that question.",
        "I'm afraid the passage doesn't say.", "Honestly, no idea.",
        "To be honest, I'm not sure.", "Sadly, that's not in the text.",
        "Regrettably, I cannot determine that.", "Hmm, I'm not sure.",
        "Well, I don't know.", "My apologies, but the text doesn't specify.",
        "That's a tough one — I don't know.", "I can’t seem to find that.",
        "Answer: Unknown", "Final answer: cannot be determined", "A: N/A",
        "Response: not stated in the passage", "**Answer:** unanswerable",
        "Short answer: I don't know.", "Answer - not enough information",
    ],
    "case, apostrophes, wrapping, markdown": [
        "I don’t know", "I DON'T KNOW!", "i dont know", "**I don't know.**",
        '"I do not know."', "I’m unable to answer that.", "i'm not sure", "IM NOT SURE",
        "i cant say", "the passage doesnt say", "It isn’t mentioned.", "'Unknown'",
        "`N/A`", "_Not specified_", "> I don't know.", "- Unknown", "I don't know...",
        "I don't know…", "(unknown)", "[Not stated]", "Unknown!!!", "Not sure?",
        "  i   do  not   know  ", "NOT MENTIONED IN THE TEXT", "“I can’t say.”",
    ],
    "followed by sentences that explain it": [
        "Sorry, I don't know. The passage does not say.",
        "I'm not sure. The text only discusses the tower's design.",
        "The passage does not say who built it. It only covers the opening ceremony.",
        "I cannot answer that. The context is about the French Revolution, not the tower.",
        "Unknown. The article focuses on the painter's early life instead.",
        "I don't know; the passage talks about something else.",
        "Not stated. The paragraph deals with the city's climate.",
        "I'm sorry, but the provided passage does not contain information about the "
        "architect of the Eiffel Tower. Could you provide more context?",
        "Based on the text provided, I cannot determine the answer. The text describes the "
        "history of the railway but doesn't mention the founder.",
        "I don't have enough information to answer that question. If you can share more "
        "details, I'd be happy to help!",
        "The context does not specify this.\n\nYou may want to consult another source.",
        "I'm afraid I can't answer that based on the passage. It only mentions the "
        "construction dates.",
        "Unfortunately, the given text doesn't include that detail. Let me know if you "
        "have another question.",
        "**I don't know.** The passage doesn't mention it.",
        "Unanswerable: the passage does not cover this topic.",
        "I don't know. The passage mentions the tower's height but not who built it.",
        "The passage mentions the tower's height, but does not specify who built it.",
        "It talks about the design but doesn't say who the architect was.",
        "The passage covers the construction. It does not say who paid for it.",
    ],
}

LOOK_ALIKES: dict[str, list[str]] = {
    "titles and names with a refusal word": [
        "The Unknown Soldier", "Unknown Pleasures", "No Country for Old Men",
        "Sorry Seems to Be the Hardest Word", "I Don't Know How She Does It",
        "I Don't Know How to Love Him", "Nobody Knows", "Who Knows Where the Time Goes",
        "No Doubt", "Know Your Enemy", "Nothing Compares 2 U", "The Known World",
        "Unanswered Prayers", "The Sound of Silence", "Unclear Skies (a 2004 album)",
        "N/A Records", "No Idea Records", "Mystery Men", "The Invisible Man", "I, Robot",
        "Can't Buy Me Love", "Nowhere Man", "The Unknown", "Mission: Impossible",
        "Insufficient funds", "Information Society", "Cannot Be Stopped by Anyone, a 1990 film",
        "The Unanswered Question", "Unknown Mortal Orchestra", "I Still Haven't Found What "
        "I'm Looking For", "Nobody's Fool", "Uncertain Terms (novel)", "Out of Africa",
        "Beyond the Sea", "Outside the Wire", "Vague Memories", "Ambiguous Loss",
        "The Response", "I Can't Help Myself", "Can't Stop", "Uncertain Smile",
        "Who Can Say Where the Road Goes", "Please Please Me", "Unable to Stop",
    ],
    "'No, …' and yes/no answers": [
        "No, it was Paris.", "No — it was built in 1889.", "No", "No.", "Yes.", "Yes",
        "No, the tower was finished in 1889.", "Nope, Lyon.", "No: 1889.",
        "No, not Paris but Lyon.",
    ],
    "hedged answers": [
        "Unknown, but likely Gustave Eiffel.", "I'm not sure, but I think it's Paris",
        "I'm not sure, maybe Paris", "I don't know, maybe 1889.",
        "Not sure, probably Gustave Eiffel.", "I'm not certain, but the passage suggests 1920.",
        "Hard to say exactly; roughly 4,000 people.",
        "Not stated outright, but the passage implies Lyon.",
        "It isn't mentioned by name, but the river is the Danube.",
        "I don't know for sure. Probably Paris.", "I can't be certain. It may be 1889.",
        "The passage doesn't say directly; it implies 1889.",
        "Unclear, possibly the Romans.", "I don't know, Paris?",
        "I'm not sure whether it is Paris or Lyon.",
    ],
    "apology, label or hedge in front of an answer": [
        "Sorry, it's Paris", "Sorry, I meant Vienna.", "Sorry for the confusion: it is Canberra.",
        "Unfortunately, it was destroyed in 1944.", "Honestly, Paris.", "Answer: 42",
        "Answer: Paris", "I'm afraid it's Paris.", "To be honest, it was Eiffel.",
        "Sorry", "Final answer: 1889",
    ],
    "refusal words inside an answer": [
        "It is not known for its beaches; it's known for mountains.",
        "Paris. I don't know more.", "The unknown variable is x", "Not in London but in Paris.",
        "He didn't know the answer, said Einstein.", "I know: it is Paris.",
        "The question is about Paris; the answer is France.",
        "It is mentioned in chapter 3.", "The passage says 1889.",
        "The text provides the date: 1889.", "There is a tower in Paris.", "I think it is 1889.",
        "Probably Marie Curie.", "The passage does not say Paris; it says Lyon.",
        "Nobody knew her name until 1920, when she was identified as Marie Curie.",
        "The architect is unknown to most visitors: it was Stephen Sauvestre.",
        "N/A is the abbreviation for \"not applicable\".",
        "Unknown at first, the cause was later identified as cholera.",
        "Not the king but his brother, Richard.", "The missing piece was the 1889 treaty.",
        "The passage mentions that it opened in 1889.",
        "No one knows the answer better than Einstein.",
        "It can't be found in Europe; it lives in Australia.", "It cannot be found in Europe.",
        "The winner was not named until 1990.", "The Eiffel Tower is not known for its beaches.",
        "The tower cannot be found in London.", "Paris is not mentioned in the passage.",
        "Gustave Eiffel is not mentioned in the passage, but he built it.",
        "Not available in stores until 1990.", "Unknown artist, 15th century",
        "The answer is not Paris.", "It was not clear water but ice.", "No one.", "Nope.",
        "They could not conclude the treaty until 1648.", "I'm not sure it's Paris.",
        "The vote of no confidence was held in 1979.",
        "No evidence of fraud was found, so he was acquitted.",
        "She was unable to reply because she died in 1901.",
        "It was ambiguous at first but later read as 1889.", "Not enough votes: Labour lost.",
        "Nothing, it is free.", "Never; it's always open.", "No one, it was automatic.",
        "None, because the river is dry.", "It's hard to say no to Paris.",
        "I don't know why, but it's 1889.", "I don't know exactly, somewhere around 1889.",
        "The answer isn't Paris, it's Lyon.", "The text doesn't mention Paris, only Lyon.",
        "Unclear: probably 1889.", "N/A — the answer is 12.", "Not sure if Paris or Lyon",
        "I'm not certain whether Gustave Eiffel built it.", "I couldn't say exactly; maybe 12.",
        "I can't tell you Paris.", "Please provide your name: Bob",
        "Could you rephrase that? It's Paris.", "That's confidential: the code is 1234.",
        "Classified ads", "I'd rather be in Paris.", "Would you mind the gap",
        "The ferry is not allowed in this state.", "There is no other state.",
        "Not available on Sundays.", "Not known for its beaches.",
        "It returns empty strings for entries that cannot be determined.",
        "The size is zero if it could not be determined.",
        "I'm not sure the tower was built by Eiffel.", "I can't tell you the capital is Paris.",
        "I don't know the year the bridge was built, 1889.",
        "The passage says it was built in 1889, but not by whom.",
        "The passage mentions the tower.",
    ],
    "hedged or sourced answers, titles (second probe)": [
        "The passage doesn't say directly, although it implies the author was French.",
        "While the text does not name him, the architect was almost certainly Stephen Sauvestre.",
        "I cannot be completely sure, but the answer is probably 1889.",
        "Not stated explicitly; however, the context suggests Lyon.",
        "The passage does not mention Lyon. The answer is Paris.",
        "I don't know much about it, but it was built in 1889.",
        "Unknown to many, the tower was nearly demolished in 1909.",
        "It's impossible to miss: the Eiffel Tower.", "There is no doubt it was Gustave Eiffel.",
        "No one other than Gustave Eiffel.", "Nobody but the king could sign it.",
        "None other than Marie Curie.", "I have no idea why, but the answer is 42.",
        "I'm not sure about the exact date; sometime in March 1889.", "Not sure. Maybe Paris.",
        "I don't know. Paris?", "I can't say for sure — likely 1889.",
        "Can't say exactly, roughly 300 meters.",
        "The information is not provided, so I'd guess Paris.", "It's unclear, perhaps Lyon.",
        "The answer cannot be determined exactly, but it is about 300 m.",
        "There is insufficient information to be sure; my best guess is Paris.",
        "Not enough information, but Paris is most likely.",
        "Unanswerable as posed; if you mean the tower, it is 330 m tall.",
        "The passage does not specify, though 1889 is the usual date.",
        "The text is silent on this, but historians say 1889.",
        "Regrettably, it burned down in 1871.", "Sadly, no one survived.",
        "Honestly, it was Napoleon.", "He is unknown outside France.",
        "The author remains anonymous.", "The cause of the fire is still debated.",
        "The exact date is disputed, but most say 1889.",
        "Its origin is uncertain; it may come from Latin.", "The name is of unknown origin.",
        "Unknown origin", "Undetermined sex", "The Unknowable", "Unclear Physics",
        "I Don't Know What to Do with Myself", "You Don't Know Me", "I Can't Make You Love Me",
        "Nobody Does It Better", "Nothing Compares to You", "Mission Unknown", "Outside the Box",
        "Still Not Sure (song)", "Not Applicable (EP)", "N/A (album by X)",
        "42, but the passage does not say so.", "Paris, though the passage does not mention it.",
    ],
    "numbers, single words, none": [
        "Paris", "1889", "Three", "Zero", "None", "Nothing", "Idea", "Anonymous",
        "None of the above", "42 kilometres", "Nowhere", "Never",
    ],
}

ALL_REFUSALS = [t for group in REFUSALS.values() for t in group]
ALL_LOOK_ALIKES = [t for group in LOOK_ALIKES.values() for t in group]
DATA = Path(__file__).parent / "data"
# refusals_heldout.txt: written before the detector existed (first score 45/54 refusals, 26/26
# answers); refusals_heldout2.txt: written after it, in another style, scored once before any
# change (first score 37/44 refusals, 25/25 answers). Both lists are kept as written.
HELD_OUT = [DATA / "refusals_heldout.txt", DATA / "refusals_heldout2.txt"]


def _held_out(path: Path) -> list[tuple[str, bool]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t", 1)
            rows.append((text.replace("\\n", "\n"), label == "R"))
    return rows


def test_the_suite_is_big_enough():
    assert len(ALL_REFUSALS) >= 100 and len(ALL_LOOK_ALIKES) >= 80
    assert len(ALL_REFUSALS) + len(ALL_LOOK_ALIKES) >= 200
    assert len(set(ALL_REFUSALS) | set(ALL_LOOK_ALIKES)) == len(ALL_REFUSALS) + len(ALL_LOOK_ALIKES)


@pytest.mark.parametrize("text", ALL_REFUSALS)
def test_refusals_are_abstentions(text):
    assert is_abstention(text), text


@pytest.mark.parametrize("text", ALL_LOOK_ALIKES)
def test_look_alikes_are_answers(text):
    assert not is_abstention(text), text


# refusals_heldout3.txt, 4, …: hardening rounds, each written before the detector was read (round
# 1) or without looking at it again (later rounds), in styles the earlier lists did not use, and
# kept as written; first contact is in each file's header. After the round's fixes every line
# must agree.
HARDENING = sorted(DATA.glob("refusals_heldout[3-9].txt"))
# refusals left as answers on purpose, each for a rule that keeps look-alikes answers: a clause
# that names a number or a name may hold the answer ("The passage mentions 1862 …"), and so may
# a statement about the world ("There were several kings named Louis")
KNOWN_MISSES = {
    "refusals_heldout7.txt": [
        "The passage mentions 1862 and 1931 but not the founding date.",
        "There were several kings named Louis; the passage doesn't say which.",
    ],
}


@pytest.mark.parametrize("path", HARDENING, ids=lambda p: p.name)
def test_hardening_rounds_agree_fully(path):
    rows = _held_out(path)
    assert sum(r for _, r in rows) >= 80 and sum(not r for _, r in rows) >= 40
    missed = [t for t, r in rows if r and not is_abstention(t)]
    assert missed == KNOWN_MISSES.get(path.name, [])
    assert [t for t, r in rows if not r and is_abstention(t)] == []


@pytest.mark.parametrize("text", ["—", "–", "…", "- ", "**—**", "?", "(—)", "--"])
def test_a_placeholder_mark_is_no_answer(text):
    assert is_abstention(text)
    score = score_answer(text, Item(dataset="t", item_id="x", type="closed", question="q",
                                    answers=[], answerable=False))
    assert score.false_answer == 0.0


@pytest.mark.parametrize("path", HELD_OUT, ids=lambda p: p.name)
def test_held_out_sets(path):
    rows = _held_out(path)
    refusals = [t for t, r in rows if r]
    answers = [t for t, r in rows if not r]
    assert len(refusals) >= 40 and len(answers) >= 20
    missed = [t for t in refusals if not is_abstention(t)]
    taken = [t for t in answers if is_abstention(t)]
    assert len(missed) <= 0.05 * len(refusals), missed
    assert not taken


def test_two_arms_that_word_a_refusal_differently_score_the_same():
    items = [Item(dataset="d", item_id=str(i), question="Who built it?", passage="A tower.",
                  answers=[] if i % 2 else ["Eiffel"], answerable=not i % 2, type="open")
             for i in range(10)]
    for a, b in [("I am unable to answer that.", "I'm unable to answer that."),
                 ("I am not able to answer that.", "I’m not able to answer that."),
                 ("I do not know.", "i dont know"), ("The passage does not say.", "Not stated.")]:
        scores_a = [score_answer(a, item) for item in items]
        assert scores_a == [score_answer(b, item) for item in items]
        assert score_answer(a, items[1]).abstained


# -- property tests -------------------------------------------------------------------------------
_FRONT = ["", "Sorry, ", "I'm sorry, but ", "Unfortunately, ", "I'm afraid ", "Honestly, ",
          "Hmm, ", "To be honest, ", "Answer: ", "Final answer: ", "**Answer:** ", "A: ",
          "Well, ", "Regrettably, ", "My apologies, but "]
_BACK = ["", ".", "!", "...", "…", " :(", "?", ", sorry.", ", unfortunately."]
_WRAP = [("", ""), ('"', '"'), ("“", "”"), ("**", "**"), ("_", "_"), ("(", ")"), ("`", "`")]
_CASE = [str, str.lower, str.upper]
# refusals that read naturally after an apology or a hedge in front (no explanation sentence)
_WRAPPABLE = [t for k in ("issue #9", "not knowing", "cannot answer / determine / find / confirm",
                          "the source does not say", "not enough information", "terse")
              for t in REFUSALS[k]]


def _wrap(text, front, back, wrap, case, curly):
    core = text.rstrip(".!?")
    if front and front[-1] == " " and not core.startswith(("I ", "I'", "N/A")):
        core = core[0].lower() + core[1:]
    out = case(f"{wrap[0]}{front}{core}{back}{wrap[1]}")
    return out.replace("'", "\u2019") if curly else out


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.sampled_from(_WRAPPABLE), st.sampled_from(_FRONT), st.sampled_from(_BACK),
       st.sampled_from(_WRAP), st.sampled_from(_CASE), st.booleans())
def test_a_wrapped_refusal_is_still_a_refusal(text, front, back, wrap, case, curly):
    wrapped = _wrap(text, front, back, wrap, case, curly)
    assert is_abstention(wrapped), wrapped


_ENTITY = st.one_of(st.sampled_from(["Paris", "Gustave Eiffel", "Marie Curie", "the Romans",
                                     "Lyon", "King Richard", "New York"]),
                    st.integers(0, 10_000).map(str),
                    st.integers(1000, 2030).map(lambda y: f"in {y}"))
_JOIN = st.sampled_from([", ", ", maybe ", ", probably ", ". Perhaps ", "; I think it's ",
                         ", but it might be ", " — ", ": ", ". It could be ", ", likely "])


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.sampled_from(_WRAPPABLE), _JOIN, _ENTITY, st.sampled_from(_CASE[:2]))
def test_a_refusal_with_a_candidate_answer_is_an_answer(text, join, entity, case):
    answer = f"{text.rstrip('.!?')}{join}{entity}."
    if case is str.lower and not entity[0].isdigit() and not entity.startswith("in "):
        answer = case(answer)
    assert not is_abstention(answer), answer


def test_extra_phrases_match_whole_sentences_only():
    assert is_abstention("Pass.", ("pass",))
    assert is_abstention("Answer: pass", ("pass",))
    assert is_abstention("Pass. The passage does not say.", ("pass",))
    assert not is_abstention("Pass the salt.", ("pass",))
    assert not is_abstention("Pass.")
    assert not is_abstention("", ("",))
    assert is_abstention("Je ne sais pas.", ("je ne sais pas",))  # English is the built-in scope
    assert not is_abstention("Je ne sais pas.")


def test_echo_of_the_system_prompt_or_its_first_sentence():
    system = "You are a helpful assistant. Answer the user's questions accurately and concisely."
    sources = echo_sources(system, "Answer the question below as briefly as possible.")
    assert is_echo(normalize_answer("You are a helpful assistant."), sources)
    assert is_echo(normalize_answer("You are a helpful assistant. The answer is Paris"), sources)
    assert is_echo(normalize_answer("Answer the question below as briefly as possible"), sources)
    assert not is_echo(normalize_answer("a helpful assistant"), sources)  # too short to tell
    assert not is_echo(normalize_answer("Paris"), sources)
    assert not is_echo(normalize_answer("Paris"), ())
