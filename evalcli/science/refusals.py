"""Recognising an answer that declines to answer, and an answer that echoes the prompt.

    raw answer ─clean─► clauses, lazily ─────► per clause: a cue? what is left? ─► is_abstention
    (apostrophes,  (split at . ! ? ; : … ,     refusal  cue + nothing that could be an answer
     markdown,      — – - ( ) newline, and     filler   no cue, only allowed words ("Sorry,")
     quotes, N/A)   but / however / though)    explain  "It only covers the railway."
                                               source   "The passage mentions the height" (a refusal
                                                        must follow: "… but not who built it")
                                               answer   anything else ─► not an abstention

Decided before the clauses: a placeholder mark alone ("—", "…", "(blank)") is no answer; JSON
(``{"answer": null}``) and ``<answer>…</answer>`` tags are decided on their answer field (null
or empty: no answer); a designated final answer after reasoning ("… Answer: unanswerable") and
the answer after an echoed "Q: … ? A: …" decide alone.

**Scope: English.** The grammar (evalcli/science/refusal_grammar.py) is English; a refusal
in another language is an answer unless ``[scoring] abstain_phrases`` lists it.

A refusal is not a list of sentences but a *cue* plus an empty *residue*, per clause:

- **cue** (``refusal_grammar.CUE``): a negation (not, n't or no apostrophe, no, never,
  nothing, none, cannot, unable / impossible / hard to, no way to, lack, insufficient,
  outside, beyond) followed within five filler words by a word of knowing, answering or
  sourcing (know, sure, idea, answer, determine, say, tell, find, confirm, predict, state,
  mention, give, specify, provide, cover, information, data, details …); a word that
  declines alone (unknown, unclear, unanswerable, unspecified, N/A, idk, "is missing",
  "silent on"); "not in the passage"; "says nothing about"; "no date is given"; "no public
  information"; out of scope ("beyond my knowledge"); a request for what is missing ("We
  need more information", "Could you rephrase that?"); declining to disclose.
- **residue**: the clause without its cues, and without what a cue governs — a restated
  question ("who built it", "whether it was finished"), a topic ("about the architect",
  "of who designed the bridge"), an object with a determiner ("the author"), a subject
  restating the question ("The architect is not mentioned") — must hold only words that
  cannot be a candidate answer (``refusal_grammar.ALLOWED``): pronouns I / we / it / you,
  auxiliaries, determiners, prepositions, hedges and apologies ("I'm afraid", "honestly",
  "unfortunately", "sorry"), labels ("Answer:"), sources ("based on the given text") and
  generic nouns (answer, question, information, detail). A name, a number, a year, any
  other noun or verb left over makes the clause an answer; so does a complement that
  states something ("the capital is Paris"), starts with a number, or an "if / whether"
  clause naming a candidate ("whether it is Paris").

The answer abstains when every clause is a refusal, a filler, an explanation or a source
clause (or a field label) followed by a refusal, and at least one is a refusal: "I don't
know. The passage only covers X." and "Author: not mentioned" abstain; "I'm not sure, maybe
Paris", "Unknown, but likely X", "Sorry, it's Paris", "No, it was Paris." and "It is not
known for its beaches; it's known for mountains" are answers. Title Cased answers ("I Don't
Know How She Does It", "Who Knows Where the Time Goes", "Nobody Knows") take no restated
question and no "nobody / who knows"; "The Unknown …" is never a cue. A bare "None", "No",
"Nothing", "Never" or "Zero" is an answer (to "how many", "who", a yes/no question); "None
given in the passage" is a refusal.

Extra phrases (``[scoring] abstain_phrases``, the prompt set's abstention phrase) are added:
a sentence or clause equal to one (folded: lower case, straight apostrophes, no wrapping
quotes or end punctuation) is a refusal. tests/unit/test_refusals.py holds the labelled
phrasings this must get right; tests/unit/data/refusals_heldout.txt is a held-out set.

Speed: an answer without any word that can start a cue (``refusal_grammar.TRIGGERS``) is
rejected after one ``str.translate``; clauses are split lazily, so a long answer is decided
by its first clause that is an answer; the cue pattern is tried only at the words a cue can
start with.

**Echo**: a base model given chat turns it never saw often answers with the start of its
own system prompt. An answer is an echo when its normalised tokens (at least
ECHO_MIN_TOKENS of them) occur as one run in a normalised prompt text (system prompt or
instructions), or when it contains the first sentence of one of them.
"""

from __future__ import annotations

import json
import re

from evalcli.science import refusal_grammar as g
from evalcli.science.normalize import normalize_answer

# -- cleaning and splitting ---------------------------------------------------------------------
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
                              "`": "'", "\u00b4": "'"})
_LEAD = " \t\r\n\"'*_([{<>#-\u201c\u201d"
_TRAIL = " \t\r\n\"'*_)]}>\u201c\u201d.!?,;:\u2026"
_MARKUP = str.maketrans(dict.fromkeys("*_\"\u201c\u201d\u00ab\u00bb[]{}<>#~|", " "))
_CLEAN = {**_APOSTROPHES, **_MARKUP}  # straight apostrophes, markdown and quotes as spaces
# words for the set tests: every ASCII punctuation mark (and a few others) is a space
_TO_WORDS = str.maketrans(dict.fromkeys(
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u2018\u2019\u201c\u201d\u2013\u2014\u2026"
    "\u00ab\u00bb", " "))
# the fast path: straight apostrophes, lower case, punctuation (but ' and /) as spaces
_FAST = str.maketrans({**{c: " " for c in "!\"#$%&()*+,-.:;<=>?@[\\]^_{|}~\u201c\u201d"
                                                "\u2013\u2014\u2026\u00ab\u00bb"},
                       **{c: "'" for c in "\u2019\u2018\u02bc\u2032`\u00b4"}})
# a placeholder for "no answer", as in a table cell: "—", "–", "…", "?", "-" (no letter or
# digit; the ASCII ones normalise to "" and score as the outcome `empty` first)
_PLACEHOLDER = re.compile(r"[\s*_`'\"\u201c\u201d(\[]*(?:[-\u2010-\u2015\u2212]+|[.\u2026]{1,3}|[?\uff1f\u00bf]+)"
                          r"[\s*_`'\"\u201c\u201d)\].]*")
_BLANK = re.compile(r"\s*[(\[<]\s*(?:blank|empty|left blank|no response)\s*[)\]>]\s*", re.I)
_LIST_MARK = re.compile(r"(?m)^\s*(?:[-+\u2022>]|\d+[.)](?=\s+\S))\s+")
_NA = re.compile(r"\bn\s*/\s*a\b|\bn\.a\.?(?!\w)|(?-i:\bNA\b)", re.I)
# a chat template's special tokens left in the output: "Unanswerable<|im_end|>", "… </s>"
_SPECIAL = re.compile(r"<\|[\w-]+\|>|</?s>|<(?:eos|bos|pad|eot|end_of_turn|start_of_turn)>"
                      r"|\[/?INST\]", re.I)
# emoji: a shrug declines ("🤷"), any other is decoration ("I don't know 🙁")
_SHRUG = re.compile("\U0001f937[\U0001f3fb-\U0001f3ff]?(?:\u200d[\u2640\u2642]\ufe0f?)?"
                    r"|\u00af\\*_?\(\s*[\u30c4\u30b7]\s*\)_?/?\u00af")  # and ¯\_(ツ)_/¯
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]+")
# a designated final answer after reasoning: "… Answer: unanswerable", "Final answer: 1862"
_FINAL = re.compile(r"(?:^|[.!?\n]\s*)(?:\*\*|__)?(?:final answer|short answer|answer)"
                    r"(?:\*\*|__)?\s*[:\uff1a]\s*(?:\*\*|__)?(?=\S)", re.I)
# the question echoed before the answer: "Q: Who built it? A: Not stated."
_QA = re.compile(r"\s*(?:\*\*)?(?:q|question)(?:\*\*)?\s*[:.]\s*[^\n]*?\?\s*(?:\*\*)?"
                 r"(?:a|answer)(?:\*\*)?\s*[:.]\s*(?=\S)", re.I)
# an answer in tags: "<answer>unanswerable</answer>"
_XML = re.compile(r"\s*<(answer|final_answer|response|output)>(.*?)</\1>\s*", re.I | re.S)
# a model describing itself: "I am a large language model trained by OpenAI and …"
_PERSONA = re.compile(r"\b(?:I am|I'm|As) (?:just |only |merely |simply )?an? (?:large |AI |artificial "
                      r"intelligence |text-based |virtual |helpful )*(?:language model|AI|assistant"
                      r"|chatbot)(?: (?:trained|developed|created|made|built) by(?: (?-i:[A-Z])[\w-]*)+)?",
                      re.I)
# JSON output: {"answer": null}, {"answer": "", "reason": "not in passage"}
_JSON_KEYS = ("answer", "final_answer", "response", "output", "prediction", "result")
# common misspellings of the words a refusal is made of: "does'nt", "dosent", "dnt",
# "infomation", "knowlege", "mentionned"
_TYPO = re.compile(r"\b(?:(?P<aux>do|does|did|is|are|was|were|has|have|had|could|would|should"
                   r"|ca|wo|must|need)'nt|(?P<does>dos(?:en'?t|ent|nt)|doesent)|(?P<dont>dnt)"
                   r"|(?P<info>in?fo?r?mati?on)|(?P<know>knowlege)|(?P<mention>men?tionn?ed))\b",
                   re.I)
_SLASH = re.compile(r"(?<=[A-Za-z]{2})/(?=[A-Za-z])")  # "Unknown/not stated", not "n/a"
# substrings every misspelling above contains (the substitution is run only with one)
_TYPO_HINTS = ("'nt", "dos", "dnt", "fomat", "formaton", "owlege", "ionned", "etioned", "frmat")
_TYPO_FIX = {"does": "doesn't", "dont": "don't", "info": "information", "know": "knowledge",
             "mention": "mentioned"}


def _fix_typo(m: re.Match) -> str:
    if m.group("aux"):
        return m.group("aux") + "n't"
    return _TYPO_FIX[m.lastgroup]
# sentence and clause boundaries: end punctuation, colon, dash, bracket, newline, comma, and
# the conjunctions that turn a refusal into a hedge before an answer ("Unknown, but likely X")
_SPLIT = re.compile(r"[.!?;:\u2026]+(?=\s|$)|\s[-\u2013\u2014]+\s|[\u2013\u2014()\n]|--"
                    r"|,\s|\s(?:but|however|though|although|whereas|except|instead)\b", re.I)


def fold(text: str) -> str:
    """Lower case, straight apostrophes, one space, no wrapping quotes or end punctuation."""
    text = " ".join(str(text).translate(_APOSTROPHES).lower().split())
    return text.lstrip(_LEAD).rstrip(_TRAIL)


def _clean(text: str) -> str:
    """Straight apostrophes, N/A as one token, no markdown, quotes or list marks; case kept."""
    if "<" in text or "[/" in text:
        text = _SPECIAL.sub(" ", text)
    text = str(text).translate(_CLEAN)
    if not text.isascii():
        text = _EMOJI.sub(" ", text)
    if ("n/" in text or "N/" in text or "n." in text or "N." in text or " /" in text
            or "NA" in text):
        text = _NA.sub("n/a", text)
    if ("model" in text or " AI" in text or "ssistant" in text) and _PERSONA.search(text):
        text = _PERSONA.sub("I am an AI", text)
    low = text.lower()
    if any(hint in low for hint in _TYPO_HINTS):
        text = _TYPO.sub(_fix_typo, text)
    if "/" in text:
        text = _SLASH.sub(" / ", text)
    if "\n" in text or text.lstrip()[:1] in ("-", "+", "\u2022", ">") or text[:1].isdigit():
        text = _LIST_MARK.sub(" ", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


_SENTENCE = re.compile(r"(?<=[.!?;\u2026])\s+|\n")
_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
# Title Case leaves short function words in lower case ("… to Do with Myself")
_MINOR = "with|from|into|onto|upon|than|that|over|like|near|past|till|unto|about|this"
_LOWER_WORD = re.compile(rf"(?<![\w'])(?!(?:{_MINOR})\b)[a-z][a-z']{{3}}")
_MINOR_WORDS = frozenset(_MINOR.split("|"))
_APPROX = re.compile(r"\b(?:about|around|roughly|approximately|nearly|almost|over|under)\s+\d")
# in a Title Cased answer someone other than the speaker marks a title: "You Don't Know Me"
_TITLE_PERSONS = frozenset("you me him her them us they myself yourself".split())
_LABEL_SHAPE = re.compile(r"[A-Za-z][a-z']*(?: [a-z']+){0,2}")


def _is_title(text: str) -> bool:
    """Title Case ("I Don't Know How She Does It"): two or more words of 4+ letters, all
    capitalised, and not all in capitals."""
    if _LOWER_WORD.search(text):
        return False  # a lower-case word of 4+ letters
    words = _TITLE_WORD.findall(text)
    long = [w for w in words if len(w) >= 4 and w not in _MINOR_WORDS]
    return (len(long) >= 2 and not text.isupper()
            and all(w[0].isupper() for w in long))


def _cues(low: str):
    """g.CUE's matches in ``low``, leftmost first, not overlapping (as finditer would)."""
    words = g.START_WORD.findall(low)
    before = ({i - k for i, w in enumerate(words) if w == "nothing" or w == "little"
               for k in range(1, g.BEFORE_NOTHING + 1)} if "nothing" in low or "little" in low
              else ())
    end = pos = 0
    for i, text in enumerate(words):
        pos = low.index(text, pos)
        if pos >= end and (text in g.STARTS or i in before or text.endswith("n't")) and (
                m := g.CUE.match(low, pos)):
            end = m.end()
            yield m
        pos += len(text)


def _restates(w: re.Match, clause: str, low: str, mixed: bool) -> bool:
    """What a cue governs (group 1 of ``w``, matched in the tail of ``low``) only restates
    the question: it states nothing ("the capital is Paris") and names no candidate after a
    passive ("the tower was built by Eiffel")."""
    tail = w.group(1)
    if g.COPULA.search(tail) or g.UNTIL.search(tail):
        return False
    if passive := g.PASSIVE_IN.search(tail):
        after = clause[len(low) - len(tail) + passive.end():] if mixed else tail[passive.end():]
        return not g.ENTITY.search(after)
    return True


_TITLE_WORDS = ("quiet", "mum", "stumped", "baffled", "clueless", "perplexed")  # weak in a title


def _residue(low: str, clause: str, title: bool) -> str | None:
    """The (lower-cased) clause without its cues and what they govern: "" for nothing left;
    None when it holds no cue. ``clause`` is the same text with its case, for entities."""
    kept, start, found = [], 0, False
    mixed = len(clause) == len(low) and not clause.isupper()  # names tell
    for m in _cues(low):
        if m.start() < start or (title and (m.group("third") or m.group() in _TITLE_WORDS)):
            continue  # "Nobody Knows", "All Quiet on the Western Front" are titles
        head = low[start:m.start()]
        if (not found and head and (sub := g.SUBJECT.fullmatch(head)
                                     or g.SUBJECT_OF.fullmatch(head))
                and (sub.group("cop") or g.PASSIVE.match(m.group()))
                and not title and not g.STATE.search(m.group())):
            head = ""  # the subject restates the question
        elif not found and head.strip() == "one":
            head = ""  # generic "one": "One cannot tell from the passage"
        found = True
        kept.append(head)
        rest, start = low[m.end():], m.end()
        if iobj := g.IOBJ.match(rest):  # "… tell us what happened"
            rest = rest[iobj.end():]
        if generic := g.GENERIC.match(rest):  # "… anything about the author"
            rest = rest[generic.end():]
        if source := g.SOURCE_PHRASE.match(rest):  # "… from the passage who won"
            rest = rest[source.end():]
        if g.SAYS_THAT.search(m.group()) and rest.startswith(" that "):
            start = len(low)  # the source denies a claim: "doesn't state that he was a king"
        elif g.WH.match(rest):  # a restated question: "I don't know who built it"
            if title:  # "I Don't Know How She Does It"
                return "title"
            start = len(low)
        elif w := g.IF.match(rest):  # "… whether it is Paris" names a candidate
            tail = clause[len(low) - len(rest) + w.end():] if mixed else rest[w.end():]
            if not g.ENTITY.search(tail):
                start = len(low)
        elif ((w := g.TOPIC.match(rest) or (g.INFO_END.search(m.group()) and
               g.INFO_TOPIC.match(rest))) and _restates(w, clause, low, mixed)):
            start = len(low)  # a topic: "about the winner of the 1998 race"
        elif (w := g.OBJECT.match(rest)) and _restates(w, clause, low, mixed) and not (
                g.DIGIT.search(w.group(1))):
            start = len(low)  # an object: "the author" (with a number it is a candidate)
    if not found:
        return None
    kept.append(low[start:])
    return _no_one(" ".join(kept))


def _no_one(text: str) -> str:
    """``text`` without "that one", "this one", "a tough one" (generic, not a candidate)."""
    return g.THAT_ONE.sub(" ", text) if "one" in text else text


def _clause_kind(clause: str, title: bool, extra: tuple[str, ...]) -> str:
    """"refusal", "filler" (only allowed words, no cue), "explain" (the source covers
    something else), "source" (what the source does say, before a refusal) or "answer"."""
    low = clause.lower()
    if extra and fold(low) in extra:
        return "refusal"
    if "evidence" in low and g.CAUSE.fullmatch(low):
        return "answer"  # "Lack of evidence." names a cause ("Why was he acquitted?")
    if g.TITLE_IMPERATIVE.match(low) and not clause.isupper() and all(
            w[0].isupper() for w in clause.split() if w[0].isalpha()):
        return "answer"  # a capitalised imperative is a title: "Say Nothing", "Never Say Never"
    words = low.translate(_TO_WORDS).split()
    residue = (_residue(low, clause, title)
               if "n't" in low or _triggered(words) else None)
    if residue is None:
        if g.ALLOWED.issuperset(words) or g.ALLOWED.issuperset(
                _no_one(low).translate(_TO_WORDS).split()):
            return "filler"
    elif g.ALLOWED.issuperset(
            left := _no_one(residue).translate(_TO_WORDS).split()) and (
            not title or _TITLE_PERSONS.isdisjoint(left)):
        return "refusal"
    if (g.SUGGEST.match(low) or g.OFFER.fullmatch(low)) and not g.ENTITY.search(
            clause[1:] if len(clause) == len(low) and not clause.isupper() else low):
        return "filler"  # "You might want to check an encyclopedia"
    if g.EXPLAIN.match(low) and not _APPROX.search(low):  # "it is about 300 m" answers
        return "explain"
    if g.SOURCE_SAYS.match(low) and not g.ENTITY.search(
            clause[1:] if len(clause) == len(low) and not clause.isupper() else low):
        return "source"  # a refusal must follow in the same sentence
    return "answer"


def _pieces(text: str):
    """(clause, the delimiter after it) pairs, lazily: most answers are decided by their first
    clause, so the rest of a long answer is never split."""
    pos = 0
    for m in _SPLIT.finditer(text):
        yield text[pos:m.start()], m.group()
        pos = m.end()
    yield text[pos:], "\n"


def _may_refuse(low: str) -> bool:
    """False when no cue is possible: none of the words that start one occurs."""
    return _triggered(low.translate(_FAST).replace("n't", " not").replace("'", " ")
                      .replace("/", " ").split())


def _triggered(words: list[str]) -> bool:
    """A word that can start a cue (g.TRIGGERS), or a common one with its partner (g.PAIRED)."""
    if not g.TRIGGERS.isdisjoint(words):
        return True
    return not g.PAIRED_WORDS.isdisjoint(words) and any(
        not g.PAIRED[w].isdisjoint(words) for w in g.PAIRED_WORDS.intersection(words))


def _json_answer(text: str) -> str | None:
    """The answer field of a JSON object ("" for null or empty); None when ``text`` is not a
    JSON object with one."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    fields = {str(k).lower(): v for k, v in obj.items()}
    for key in _JSON_KEYS:
        if key in fields:
            value = fields[key]
            return "" if value is None else str(value).strip()
    return None


def _final_answer(text: str) -> str | None:
    """What follows the last "Answer:" label when reasoning comes before it; None without one."""
    last = None
    for m in _FINAL.finditer(text):
        last = m
    if last is None or not text[:last.start()].strip():
        return None  # no label, or nothing before it: the whole answer decides
    return text[last.end():]


def is_abstention(text: str, phrases: tuple[str, ...] | list[str] = ()) -> bool:
    """True when the answer declines to answer: every clause is a refusal (a cue with nothing
    else that could be an answer), a filler or an explanation, and at least one is a refusal
    (built-in grammar, or one of ``phrases`` as a whole sentence or clause). Empty text is not
    an abstention (see scoring)."""
    text = str(text)
    first = text.lstrip()[:1]
    if first.isalnum():
        if (first == "Q" or first == "q") and (qa := _QA.match(text)):
            return is_abstention(text[qa.end():], phrases)  # "Q: Who built it? A: Not stated."
    elif len(text) < 16 and (_PLACEHOLDER.fullmatch(text) or _BLANK.fullmatch(text)):
        return True  # "—": a placeholder, like "N/A"
    elif first == "{" and (value := _json_answer(text)) is not None:
        return value == "" or is_abstention(value, phrases)
    elif first == "<" and (tag := _XML.fullmatch(text)):
        value = tag.group(2).strip()  # "<answer></answer>": no answer, like {"answer": null}
        return value == "" or is_abstention(value, phrases)
    if not text.isascii() and ("\U0001f937" in text or "\u00af" in text):
        text = _SHRUG.sub(" idk ", text)
    if ("nswer" in text or "NSWER" in text) and (final := _final_answer(text)) is not None:
        return is_abstention(final, phrases)
    extra = tuple(f for f in (fold(p) for p in phrases) if f)
    if extra and fold(text) in extra:
        return True
    if not extra and not _may_refuse(text.lower()):
        return False
    cleaned = _clean(text)
    if extra:  # a whole sentence equal to an extra phrase reads as the built-in "n/a"
        cleaned = "\n".join("n/a" if fold(s) in extra else s for s in _SENTENCE.split(cleaned))
    title = _is_title(cleaned)
    refused = explaining = pending = False
    first = True  # the clause starts a sentence
    for piece, delimiter in _pieces(cleaned):
        clause = piece.strip(_TRAIL + _LEAD)
        ends = delimiter[:1] in ".!?;\u2026\n" or "\n" in delimiter
        if clause and explaining:  # the rest of an explanation; a refusal in it counts
            refused = refused or _clause_kind(clause, title, extra) == "refusal"
        elif clause:
            kind = _clause_kind(clause, title, extra)
            if kind == "answer" and first and delimiter[:1] == "?" and g.QUESTION.match(
                    clause.lower()):
                kind = "filler"  # the question echoed: "Who built it? The passage doesn't say."
            if pending and kind != "refusal":
                return False  # "Author: Paris", "The passage mentions the height, 300 m"
            pending = False
            if kind == "answer" and first and delimiter.startswith(":") and (
                    _LABEL_SHAPE.fullmatch(clause)):
                pending = True  # a field label: "Author: not mentioned"
            elif kind == "source":
                pending = True  # "The passage mentions the height but not who built it"
            elif kind == "explain":
                explaining = True  # the rest of the sentence explains the refusal
            elif kind == "answer":
                return False
            refused = refused or kind == "refusal"
        first = ends
        explaining = explaining and not ends
    return refused and not pending


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
