"""Recognising an answer that declines to answer, and an answer that echoes the prompt.

    raw answer ──fold──► sentences ──every sentence a refusal?──► is_abstention
    raw answer ──normalise──► a run of ≥ 4 prompt tokens, or the prompt's first sentence? ──► is_echo

**Refusals** are matched against the *whole* answer, never a part of it: each sentence of the
answer must be a refusal on its own ("Sorry, I don't know. The passage does not say." is
one; "I'm not sure, but I think it's Paris" and "The Unknown Soldier" are answers). Folding
before the match: lower case; ’ ‘ ʼ ′ and backtick read as '; whitespace collapsed; wrapping
quotes, markdown marks and brackets and trailing punctuation ignored. The built-in grammar
(REFUSAL_PATTERNS) covers how models refuse in English: not knowing, not being sure, no
idea, cannot answer / determine, unknown / unanswerable, not in the passage / text /
context, not enough information, N/A — each with an optional apology ("Sorry,", "I'm sorry,
but") and an optional source ("from the passage", "based on the text"). Extra phrases
(``[scoring] abstain_phrases``, the prompt set's abstention phrase) must equal a whole
folded sentence. tests/unit/test_refusals.py holds the labelled phrasings this must get
right.

**Echo**: a base model given chat turns it never saw often answers with the start of its
own system prompt. An answer is an echo when its normalised tokens (at least
ECHO_MIN_TOKENS of them) occur as one run in a normalised prompt text (system prompt or
instructions), or when it contains the first sentence of one of them.
"""

from __future__ import annotations

import re

from evalcli.science.normalize import normalize_answer

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
                              "`": "'"})
_LEAD = " \t\r\n\"'*_([{<>#-\u201c\u201d"
_TRAIL = " \t\r\n\"'*_)]}>\u201c\u201d.!?,;:\u2026"

_APOLOGY = r"(?:(?:i'm |i am )?sorry|unfortunately|i apologi[sz]e)(?:,|\.)? (?:but )?"
_SOURCE = (r"(?: (?:from|in|based on|given|according to|with|using|within|on the basis of)"
           r"(?: the| this| that)?(?: given| provided| above| available)?"
           r" (?:passage|text|context|information|document|article|paragraph|data|excerpt)"
           r"(?: (?:given|provided|above))?)?")
_THAT = r"(?: (?:that|this|the question|this question|that question|your question|it))?"
_NOT = r"(?:not|n't)"
_CANT = r"(?:cannot|can't|can not|could not|couldn't|am unable to|'m unable to|am not able to|'m not able to)"
_THE_SOURCE = r"(?:the|this|that)(?: given| provided)? (?:passage|text|context|document|article|paragraph|excerpt|information)"
_VERB = (r"(?:say|state|mention|provide|contain|include|specify|give|tell us|answer"
         r"|address|discuss|indicate)s?")

REFUSAL_PATTERNS: tuple[str, ...] = (
    # not knowing
    rf"i (?:do {_NOT}|don't|dont|do {_NOT} really|really don't) know(?: the answer)?(?: to{_THAT})?"
    rf"(?: (?:who|what|when|where|which|if|whether)\b.*)?",
    r"(?:i'm|i am|im) (?:not sure|unsure|not certain|uncertain)(?: of the answer)?",
    r"not sure|unsure|no idea|no clue|don't know|dont know|not known|unclear|no answer",
    r"i (?:have|had) no (?:idea|clue)(?: at all| whatsoever)?",
    # cannot answer / determine
    rf"i {_CANT} (?:answer|determine|tell|say|know|find|provide|give)(?: (?:you|an answer|the answer))?{_THAT}",
    rf"(?:it|this|that|the answer|the question|this question){_SOURCE}? (?:cannot|can't|can not|could not) be"
    rf" (?:determined|answered|known|found|inferred|established)",
    r"(?:cannot|can't|can not) (?:be )?(?:answer|answered|determine|determined|say|tell)",
    # unknown / unanswerable
    r"(?:the answer|it|this|that)(?: is| was)? (?:unknown|not known|unclear|unanswerable)",
    r"(?:this|the|that) question (?:is|seems|appears to be) (?:unanswerable|not answerable)",
    r"unknown|unanswerable|not answerable",
    # not in the source
    rf"(?:it|this|that|the answer|this information|that information|the information)"
    rf"(?: is| was)? {_NOT} (?:mentioned|stated|given|provided|specified|found|included|"
    rf"available|present|contained) (?:in|by) {_THE_SOURCE}",
    rf"{_NOT} (?:mentioned|stated|given|provided|specified|found|included|available) (?:in|by) {_THE_SOURCE}",
    rf"{_THE_SOURCE} (?:does {_NOT}|doesn't|did {_NOT}|didn't) {_VERB}"
    rf"(?: (?:this|that|it|the answer|an answer|any answer|the information|this information"
    rf"|that information|any information|enough information|who|what|when|where|which|how|why)\b.*)?",
    rf"(?:there is|there's|there are|there was) no (?:answer|information|mention)"
    rf"(?: (?:to|for|about|on){_THAT})?(?: (?:in|from) {_THE_SOURCE})?",
    rf"no (?:answer|information) (?:is )?(?:given|provided|available|found)?{_SOURCE}",
    # not enough information
    rf"(?:i (?:do {_NOT}|don't) have|there is {_NOT}|there isn't|there's {_NOT}|there is|"
    rf"i have|not|insufficient|there's)(?: enough| sufficient)? (?:information|info|context|data)"
    rf"(?: to (?:answer|determine|tell|say)(?:{_THAT})?)?{_SOURCE}",
    rf"(?:not enough|insufficient) (?:information|info|context|data)(?: to (?:answer|determine)"
    rf"(?:{_THAT})?)?{_SOURCE}",
    r"n/a|n\.a|not applicable",
)
_COMPILED = tuple(re.compile(rf"(?:{_APOLOGY})?(?:{p}){_SOURCE}") for p in REFUSAL_PATTERNS)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")


def fold(text: str) -> str:
    """Lower case, straight apostrophes, one space, no wrapping quotes or end punctuation."""
    text = " ".join(str(text).translate(_APOSTROPHES).lower().split())
    return text.lstrip(_LEAD).rstrip(_TRAIL)


def _sentences(text: str) -> list[str]:
    return [s for s in (fold(part) for part in _SENTENCE.split(fold(text))) if s]


def is_refusal_sentence(sentence: str, extra: tuple[str, ...] = ()) -> bool:
    """One folded sentence: a built-in refusal pattern or an extra phrase, as a whole."""
    if sentence in extra:
        return True
    return any(p.fullmatch(sentence) for p in _COMPILED)


def is_abstention(text: str, phrases: tuple[str, ...] | list[str] = ()) -> bool:
    """True when every sentence of the answer declines to answer (built-in patterns, or one
    of ``phrases`` as a whole sentence). Empty text is not an abstention (see scoring)."""
    sentences = _sentences(text)
    if not sentences:
        return False
    extra = tuple(f for f in (fold(p) for p in phrases) if f)
    if is_refusal_sentence(fold(text), extra):
        return True
    return all(is_refusal_sentence(s, extra) for s in sentences)


# -- echo ---------------------------------------------------------------------------------------
ECHO_MIN_TOKENS = 4


def echo_sources(*texts: str) -> tuple[tuple[str, ...], ...]:
    """Prepared prompt texts for ``is_echo``: (normalised full text, normalised first
    sentence) per non-empty text."""
    out = []
    for text in texts:
        if not text or not text.strip():
            continue
        first = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0]
        out.append((normalize_answer(text), normalize_answer(first)))
    return tuple(out)


def is_echo(normalized_answer: str, sources: tuple[tuple[str, ...], ...]) -> bool:
    """True when the (normalised) answer repeats a prompt: ≥ ECHO_MIN_TOKENS of its tokens
    appear as one run in a prompt text, or it contains a prompt's first sentence (≥
    ECHO_MIN_TOKENS tokens)."""
    tokens = normalized_answer.split()
    if not tokens:
        return False
    padded = f" {normalized_answer} "
    for full, first in sources:
        if len(tokens) >= ECHO_MIN_TOKENS and padded in f" {full} ":
            return True
        if len(first.split()) >= ECHO_MIN_TOKENS and f" {first} " in padded:
            return True
    return False
