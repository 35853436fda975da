"""Recognising an answer that declines to answer, and an answer that echoes the prompt.

    raw answer ─clean─► sentences ─► clauses ─► per clause: cue? + residue ─► every clause a
    (quotes, markdown,  (. ! ? ; :   (, — – -   refusal, a filler or an      refusal, filler or
     apostrophes)        … newline)   but, yet)  explanation?                 explanation, and at
                                                                              least one refusal
                                                                              ─► is_abstention

**Scope: English.** Refusals in other languages are answers unless the profile lists them in
``[scoring] abstain_phrases``.

**Refusals** are not a list of sentences but a *cue* plus a *residue* check, per clause:

- a **cue** for declining: a negation (not, n't, no, never, nothing, none, nobody, cannot,
  unable to, impossible / hard to, no way to, lack, insufficient, outside, beyond) followed
  within a few filler words by a word of knowing, answering or sourcing (know, sure, idea,
  answer, determine, say, tell, find, confirm, state, mention, give, specify, provide, cover,
  information, data, details, reference …: ``_PRED``); or a word that declines by itself
  (unknown, unclear, unanswerable, unspecified, N/A, idk, silent on, "is missing",
  "not in the passage" …). Apostrophes may be missing ("i cant answer that").
- the **residue**: the clause with its cues removed, and with what a cue governs — a restated
  question ("who built it", "whether …"), a topic ("about the architect", "of who designed
  the bridge"), an object with a determiner ("the author") — removed too, must consist only
  of words that cannot be a candidate answer (``_ALLOWED``): pronouns I/we/it/you, auxiliaries,
  determiners, prepositions, hedges and apologies ("I'm afraid", "honestly",
  "unfortunately", "sorry"), labels ("Answer:"), sources ("in the passage", "based on the
  given text") and generic nouns (answer, question, information, detail). A name, a number,
  a year, any other noun or verb left over makes the clause an answer.

Clauses with no cue whose words are all in ``_ALLOWED`` are fillers ("Sorry,", "Answer:",
"Could you provide more context?"). A clause in which the source is said to cover something
else ("The passage only covers the railway.") is an explanation; it does not make a refusal,
it does not spoil one. The answer abstains when no clause is anything else and at least one
is a refusal: "I don't know. The passage only covers X." abstains; "I'm not sure, maybe
Paris", "Unknown, but likely X", "Sorry, it's Paris", "No, it was Paris." and "It is not
known for its beaches; it's known for mountains" are answers. Titles: in a Title Cased
answer ("I Don't Know How She Does It", "Who Knows Where the Time Goes", "Nobody Knows") a
restated question and "nobody / who knows" do not count. "The Unknown …" is never a cue.
A bare "None", "No", "Nothing" or "Zero" is an answer (to "how many", to a yes/no question);
"None given in the passage" is a refusal.

Extra phrases (``[scoring] abstain_phrases``, the prompt set's abstention phrase) are added:
a sentence or clause equal to one (folded: lower case, straight apostrophes, no wrapping
quotes or end punctuation) is a refusal. tests/unit/test_refusals.py holds the labelled
phrasings this must get right, and tests/unit/data/refusals_heldout.txt a held-out set.

**Echo**: a base model given chat turns it never saw often answers with the start of its
own system prompt. An answer is an echo when its normalised tokens (at least
ECHO_MIN_TOKENS of them) occur as one run in a normalised prompt text (system prompt or
instructions), or when it contains the first sentence of one of them.
"""

from __future__ import annotations

import re

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
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb", " "))
# the fast path: straight apostrophes, lower case, punctuation (but ' and /) as spaces
_FAST = str.maketrans({**{c: " " for c in "!\"#$%&()*+,-.:;<=>?@[\\]^_{|}~\u201c\u201d"
                                                "\u2013\u2014\u2026\u00ab\u00bb"},
                       **{c: "'" for c in "\u2019\u2018\u02bc\u2032`\u00b4"}})
_LIST_MARK = re.compile(r"(?m)^\s*(?:[-+\u2022>]|\d+[.)](?=\s+\S))\s+")
_NA = re.compile(r"\bn\s*/\s*a\b|\bn\.a\.?(?!\w)", re.I)
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
    text = str(text).translate(_CLEAN)
    if "n/" in text or "N/" in text or "n." in text or "N." in text or " /" in text:
        text = _NA.sub("n/a", text)
    if "\n" in text or text.lstrip()[:1] in ("-", "+", "\u2022", ">") or text[:1].isdigit():
        text = _LIST_MARK.sub(" ", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


# -- the grammar --------------------------------------------------------------------------------
def _words(*groups: str) -> str:
    return "|".join(w for g in groups for w in g.split())


_SOURCE = ("passage passages text texts context document documents article paragraph excerpt "
           "extract snippet source sources material materials content story reading prompt "
           "input sentence sentences section summary page transcript data information info "
           "provided given above below supplied details question")
_NEG_WORDS = ("not never no nothing none nobody neither nor cannot without lack lacks lacking "
              "lacked unable impossible hard difficult tough tricky outside beyond insufficient "
              "inadequate cant aint dont doesnt didnt isnt arent wasnt werent hasnt havent hadnt "
              "couldnt wouldnt wont shouldnt mustnt neednt")
_NEG = (r"(?:not|never|no one|no|nothing|none|nobody|neither|nor|cannot|can not|without"
        r"|lacks?|lacking|lacked|unable to|impossible to|(?:hard|difficult|tough|tricky) to"
        r"|outside|beyond|insufficient|inadequate|cant|aint"
        r"|(?:do|does|did|is|are|was|were|am|has|have|had|ca|could|would|wo|should|must|need"
        r"|ai)(?:n't|nt))\b")
_FILL = _words(
    "really actually exactly quite fully entirely completely totally truly all that so too very "
    "yet currently presently explicitly directly specifically clearly definitively definitely "
    "precisely reliably accurately confidently possibly even ever any anything something much "
    "more further additional enough sufficient relevant specific clear explicit direct such "
    "other useful concrete precise reliable detailed be been being have has had get got able "
    "to possible in a an the this that these those its position going way ways means of i we "
    "you me us it can could will would do does did is are was were make makes made give gives "
    "gave seem seems appear appears from on at for with within one here hand 100% where "
    "anywhere definitive conclusive straightforward single correct right possess hold access "
    "positively equipped authorized authorised permitted allowed qualified prefer rather "
    "necessary required needed suitable known appropriate adequate draw some think liberty "
    "quite", _SOURCE)
_PRED = (
    r"(?:know|knows|knew|known|knowing|knowledge|sure|certain|certainty|aware|confident|idea"
    r"|clues?|answer(?:s|ed|ing|able)?|determin(?:e|es|ed|ing|able)|say|says|said|saying"
    r"|tell|tells|told|telling|stat(?:e|es|ed|ing|ement)|mention(?:s|ed|ing)?|give|gives|given"
    r"|gave|specif(?:y|ies|ied|ying|ics)|provid(?:e|es|ed|ing)|cover(?:s|ed|ing)?"
    r"|includ(?:e|es|ed|ing)|contain(?:s|ed|ing)?|available|present|finds?|found|locat(?:e|ed)"
    r"|list(?:s|ed)?|names?|named|identif(?:y|ies|ied|iable)|confirm(?:s|ed)?"
    r"|verif(?:y|ies|ied|iable)|establish(?:es|ed)?|infer(?:s|red)?|deduc(?:e|es|ed)"
    r"|ascertain(?:s|ed)?|indicat(?:e|es|ed|ion)|disclos(?:e|es|ed)|discuss(?:es|ed)?"
    r"|address(?:es|ed)?|describ(?:e|es|ed)|explain(?:s|ed)?|reveal(?:s|ed)?|report(?:s|ed)?"
    r"|record(?:s|ed)?|not(?:e|es|ed)|clear|clarif(?:y|ies|ied)|recall|remember|help"
    r"|information|info|data|details?|context|evidence|references?|referenced|hints?|sign"
    r"|pinpoint|comment|work(?: (?:it|this|that))? out|figure(?: (?:it|this|that))? out"
    r"|guess|way of knowing|positive|predict(?:s|ed)?|calculat(?:e|es|ed)|estimat(?:e|es|ed)"
    r"|comput(?:e|es|ed)|judg(?:e|es|ed)|assess(?:es|ed)?|conclud(?:e|es|ed)|speculat(?:e|es|ed)"
    r"|measur(?:e|es|ed)|quantif(?:y|ies|ied)|access|respond|reply|conclusions?|heard|hear"
    r"|understand|understood|follow|responses?|insights?|background|confidence|talk|share"
    r"|divulge|elaborate)\b")
_ALONE_WORDS = ("unknown unknowable unclear unsure uncertain unspecified unstated unmentioned "
                "ambiguous vague "
                "undetermined undeterminable indeterminate undisclosed unanswerable unavailable "
                "unconfirmed unverified unverifiable undocumented unrecorded unidentified "
                "idk dunno")
_ALONE = (
    rf"(?<!the )(?:{_words(_ALONE_WORDS)}|not applicable|beats me|search me)\b|n/a(?!\w)"
    r"|(?:anyone|anybody)'?s guess\b|your guess is as good as mine\b"
    r"|silent(?= (?:on|about|regarding|concerning|as to|here|there|in this|with regard)\b)"
    r"|(?:is|are|was|were|remains?|stays?|'s|'re) (?:simply |entirely |completely )?"
    r"(?:silent|missing|absent|lacking|insufficient|inadequate|not sufficient|not enough"
    r"|incomplete)\b"
    # out of scope: "beyond my knowledge", "outside the scope of the passage"
    r"|(?:outside|beyond|out|not within|not in)(?: of)? (?:my|our|the|this|its) (?:scope"
    r"|knowledge|experience|training(?: data)?|capabilit(?:y|ies)|capacity|abilit(?:y|ies)"
    r"|(?:area of )?expertise|purview|remit)\b")
_NOT_IN = (rf"{_NEG} (?:anywhere |explicitly |directly )?(?:in|from|within|part of|covered by"
           r"|found in|present in|included in|the scope of|what)(?: (?:the|this|that|a|any|my"
           r"|your))?(?: (?:given|provided|above|supplied|available|original))?"
           rf" (?:{_words(_SOURCE)})\b")
_THIRD = r"(?:who|nobody|no one|no-one) (?:really )?(?:knows|can (?:say|tell))\b"
_INFO = (r"(?:information|info|details?|data|answers?|mention|references?|indication|evidence"
         r"|knowledge|context|clues?|hints?|responses?|insights?|background)\b")
# "says nothing about", "tells us little"
_SAYS_NOTHING = rf"{_PRED}(?: us| me| you)? (?:absolutely |really )?(?:nothing|little)\b"
# every cue starts at a word: the lower-cased text is scanned once, without re.I
# "no public information", "no reliable data": any two words before an information noun
_NO_INFO = (rf"(?:no|insufficient|inadequate|lack of|lacks?) (?:(?!{_PRED})[a-z'-]+ ){{1,2}}"
            rf"{_INFO}")
# a request for what is missing: "We need additional information", "I would need to know the
# year", "Please provide more context"
_NEED = (rf"(?:(?:need|needs|needed|require|requires|required) (?:to know|(?:more|additional"
         rf"|further|extra|some|the|that|this|enough|sufficient|relevant|specific|a bit more)"
         rf"(?: (?:{_FILL}))* (?:{_INFO}|context)|(?:{_INFO}|context))"
         rf"|(?:please|could you|can you|would you|kindly)(?: please)? (?:provide|share|give|supply"
         rf"|clarify|specify)(?: (?:me|us))?(?: (?:{_FILL}))* (?:{_INFO}|context))"
         # a request to ask again: "Could you rephrase it?", "Would you mind clarifying?"
         r"|(?:could|can|would) you(?: please)? (?:rephrase|reword|restate|clarify|elaborate)"
         r"|would you mind (?:rephrasing|rewording|clarifying|elaborating)"
         r"|(?:trouble|difficulty) (?:understanding|following)\b"
         # declining to disclose: "That's confidential."
         r"|(?:that|this|it)(?:'s| is) (?:strictly )?(?:confidential|classified)\b")
# "No date is given in the passage": the noun restates the question
_NO_NOUN = (rf"no (?:[a-z'-]+ ){{1,3}}(?:is|are|was|were|has been|have been|had been|can be"
            rf"|could be)(?: (?:{_FILL}))* {_PRED}")
_CUE = re.compile(rf"\b(?:(?P<third>{_THIRD})|{_NOT_IN}|{_NEG}(?:(?: (?:{_FILL}))|'\w+){{0,5}}"
                  rf" {_PRED}(?:(?: (?:{_FILL})){{0,3}} {_INFO})?|{_SAYS_NOTHING}|{_NO_NOUN}"
                  rf"|{_NO_INFO}|{_NEED}"
                  rf"|{_ALONE})")
# the words a cue can start with: _CUE is tried only there (scanning every position of a long
# answer with the whole alternation cost 130 us)
_STARTS = frozenset(f"{_NEG_WORDS} {_ALONE_WORDS} can could would who your anyone anybody "
                    "silent is are was were remain remains stay stays 's 're need needs needed "
                    "require requires required please kindly trouble difficulty that this it "
                    "beats search n/a out not".split())
_START_WORD = re.compile(r"[a-z/]+(?:'t)?|'[a-z]+")
_BEFORE_NOTHING = 3  # "says nothing", "tells us absolutely nothing": the cue starts at the verb
# a cue is possible only when one of these words is in the answer (the fast path)
_TRIGGERS = frozenset(f"{_NEG_WORDS} {_ALONE_WORDS} n/a n who guess silent missing absent little "
                      "beats search applicable need needs needed require requires required "
                      "please kindly provide share supply clarify specify out incomplete "
                      "rephrase rephrasing reword rewording restate elaborate elaborating "
                      "clarifying trouble difficulty confidential classified "
                      "ambiguous vague".split())
# what a cue governs: a restated question, a topic, an object with a determiner
_DET = (r"(?:the|a|an|any|this|that|these|those|its|his|her|their|such|your|my|our"
        r"|(?!(?:it|that|there|what|he|she|who|here|where|this|which|let)'s)\w+'s)")
_WH = re.compile(r"\s*(?:(?:of|about|as to|on|regarding|concerning|for|to)\s+)?(?:exactly\s+)?"
                 r"(?:who|whom|whose|what|when|where|which|why|how)\b")
_IF = re.compile(r"\s*(?:(?:of|about|as to|on)\s+)?(?:if|whether)\b")
_TOPIC = re.compile(r"\s*(?:about|regarding|concerning|on|upon|of|as to|as regards|re"
                    r"|with (?:regard|respect) to|in regard to)\s+(.*)")
_INFO_TOPIC = re.compile(r"\s*(?:to|for)\s+(.*)")
_INFO_END = re.compile(r"(?:answers?|information|info|data|details?|references?|clues?|idea"
                       r"|evidence|indication|hints?|context|knowledge|mention)$")
_OBJECT = re.compile(rf"\s*(?:(?:you|me|us|them)\s+)?{_DET}\s+(.*)")
# a complement that states something ("the capital is Paris") or starts with a number is
# not a restated question but a candidate answer
_COPULA = re.compile(r"\b(?:is|was|are|were|'s|than)\b|^\W*\d")
_THAT_ONE = re.compile(r"\b(?:this|that|the|which|a|an)(?: \w+)? one\b")
# a subject that restates what was asked, before a predicative cue: "The architect is not
# mentioned", "Its date is unknown", "Who built it is not stated", "The winner cannot be named"
_SUBJECT = re.compile(rf"(?:{_DET}|who|what|when|where|which|why|how|whether)\s+(?:[\w'-]+\s+)"
                      r"{0,8}?(?P<cop>(?:is|was|are|were|remains?|remained|has been|have been|had been"
                      r"|seems to be|appears to be)\s+(?:still\s+|also\s+|currently\s+"
                      r"|simply\s+|presently\s+)?)?")
_PASSIVE = re.compile(r"(?:is|are|was|were|remains?|stays?|'s|'re)\b|.*\bbe(?:en)?\b"
                      r"|(?:is|are|was|were|has|have|had)(?:n't|nt)\b")

_DIGIT = re.compile(r"\d")
_ENTITY = re.compile(r"\b(?!I\b|I')[A-Z]|\d")
_ALLOWED = frozenset((
    # pronouns (not he / she: "He didn't know" is about someone), determiners, auxiliaries,
    # prepositions, conjunctions, negations
    "i me my we us our you your it its this that these those there here they them their him "
    "her a an the some any all no not nor neither never nothing none nobody is are was were "
    "am be been being do does did done have has had having will would shall should can could "
    "may might must s m t re ve ll d im ive dont doesnt didnt isnt arent wasnt cant couldnt "
    "wont wouldnt havent hasnt thats theres whats ca wo sha to of in on at by for from with "
    "within without about regarding concerning upon into onto as than and or so if whether "
    "who whom whose what when where which why how because since therefore thus hence but "
    "however though although yet instead rather "
    # adverbs, adjectives, hedges, apologies, politeness, labels, generic nouns
    "really actually exactly quite fully entirely completely totally truly very too still "
    "even ever also either just only simply merely currently presently explicitly directly "
    "specifically clearly definitively definitely precisely reliably accurately confidently "
    "possibly anywhere anything something everything somewhere much more further additional "
    "enough sufficient sufficiently relevant specific such other useful concrete precise "
    "reliable accurate detailed definitive direct explicit clear certain sure exact outright "
    "whatsoever anyone anybody someone somebody else hmm hm um uh er well oh ah ok okay alas "
    "afraid honestly frankly truthfully candidly honest frank fair truth unfortunately "
    "regrettably sadly sorry apologies apologize apologise apology regret wish love like "
    "helpful happy glad able position possible need needed required necessary think believe "
    "seem seems seemed appear appears appeared look looks far see let please thanks thank "
    "feel free again check consult refer search answer answers final short response reply "
    "result output questions query detail fact facts point topic subject matter thing case "
    "part aspect knowledge evidence mention reference indication record clue idea way means "
    "scope bounds hand basis available based shown therein stated mentioned found "
    # the verbs of knowing, answering and sourcing, in their forms
    "know knows known knew knowing say says said saying tell tells told telling state states "
    "stating give gives gave giving offer offers offered make makes made making answered "
    "answering determine determines determined find finds finding specify specifies specified "
    "provide provides cover covers covered include includes included contain contains "
    "contained list lists listed name names named identify identified confirm confirmed "
    "verify verified establish established infer inferred deduce deduced indicate indicates "
    "indicated disclose disclosed discuss discusses discussed address addresses addressed "
    "describe describes described explain explains explained reveal reveals revealed report "
    "reports reported note noted work figure out recall remember guess help go goes touch "
    "touches deal deals "
    # offers after a refusal: "You may want to consult another source."
    "want another different elsewhere share ask assist rephrase clarify happy ai language "
    "model assistant access possess tough tricky hard difficult good great interesting "
    "predict calculate estimate compute judge assess conclude speculate measure kindly "
    "respond reply draw conclusion heard hear understand follow response insight background "
    "confidence equipped authorized authorised permitted allowed qualified prefer suitable "
    "appropriate adequate experience training capability capacity ability abilities area "
    "expertise purview remit fall falls lie lies mind trouble difficulty understanding "
    "following rephrase rephrasing reword restate elaborate talk share liberty asking "
    "understood properly "
    "excellent positive "
    + _SOURCE).split())
_EXPLAIN = re.compile(
    r"(?:(?:instead|rather|however|but|also|and|it seems|it appears|apparently|only)\s+)*"
    r"(?:(?:the|this|that|it|which|they|these)\s+)?(?:(?:given|provided|above|supplied"
    rf"|available|original|whole|entire)\s+)*(?:(?:{_words(_SOURCE)})\s+)?"
    r"(?:(?:only|instead|just|mainly|mostly|primarily|rather|merely|solely|simply|exclusively"
    r"|largely|seems to|appears to)\s+)*(?:covers?|discuss(?:es)?|focus(?:es)? on"
    r"|is (?:only |mainly |mostly |entirely |primarily )?(?:about|focused on|concerned with"
    r"|limited to)|are about|talks? about|deals? with|describes?|concerns?|mentions? only"
    r"|refers? to|relates? to|cent(?:er|re)s? on|address(?:es)?|explains?"
    r"|(?:gives?|provides?|contains?) (?:only )?(?:information|details)|asks? (?:about|for)"
    r"|is asking|(?:(?:only|just|merely|solely) (?:mentions?|says?|states?|lists?|gives?"
    r"|provides?|names?|includes?|contains?|has|tells? us)))\b")
_SENTENCE = re.compile(r"(?<=[.!?;\u2026])\s+|\n")
_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_LOWER_WORD = re.compile(r"(?<![\w'])[a-z][a-z']{3}")
_LABEL_SHAPE = re.compile(r"[A-Za-z][a-z']*(?: [a-z']+){0,2}")


def _is_title(text: str) -> bool:
    """Title Case ("I Don't Know How She Does It"): two or more words of 4+ letters, all
    capitalised, and not all in capitals."""
    if _LOWER_WORD.search(text):
        return False  # a lower-case word of 4+ letters
    words = _TITLE_WORD.findall(text)
    long = [w for w in words if len(w) >= 4]
    return (len(long) >= 2 and not text.isupper()
            and all(w[0].isupper() for w in long))


def _cues(low: str):
    """_CUE's matches in ``low``, leftmost first, not overlapping (as finditer would)."""
    words = _START_WORD.findall(low)
    before = ({i - k for i, w in enumerate(words) if w == "nothing" or w == "little"
               for k in range(1, _BEFORE_NOTHING + 1)} if "nothing" in low or "little" in low
              else ())
    end = pos = 0
    for i, text in enumerate(words):
        pos = low.index(text, pos)
        if pos >= end and (text in _STARTS or i in before or text.endswith("n't")) and (
                m := _CUE.match(low, pos)):
            end = m.end()
            yield m
        pos += len(text)


def _residue(low: str, clause: str, title: bool) -> str | None:
    """The (lower-cased) clause without its cues and what they govern: "" for nothing left;
    None when it holds no cue. ``clause`` is the same text with its case, for entities."""
    kept, start, found = [], 0, False
    mixed = len(clause) == len(low) and not clause.isupper()  # names tell
    for m in _cues(low):
        if m.start() < start or (title and m.group("third")):
            continue  # "Nobody Knows", "Who Knows Where the Time Goes" are titles
        head = low[start:m.start()]
        if (not found and head and (sub := _SUBJECT.fullmatch(head))
                and (sub.group("cop") or _PASSIVE.match(m.group()))
                and not title):
            head = ""  # the subject restates the question
        found = True
        kept.append(head)
        rest, start = low[m.end():], m.end()
        if _WH.match(rest):  # a restated question: "I don't know who built it"
            if title:  # "I Don't Know How She Does It"
                return "title"
            start = len(low)
        elif w := _IF.match(rest):  # "… whether it is Paris" names a candidate
            tail = clause[m.end() + w.end():] if mixed else rest[w.end():]
            if not _ENTITY.search(tail):
                start = len(low)
        elif ((w := _TOPIC.match(rest) or (_INFO_END.search(m.group()) and
               _INFO_TOPIC.match(rest))) and not _COPULA.search(w.group(1))):
            start = len(low)  # a topic: "about the winner of the 1998 race"
        elif (w := _OBJECT.match(rest)) and not _COPULA.search(w.group(1)) and not (
                _DIGIT.search(w.group(1))):
            start = len(low)  # an object: "the author" (with a number it is a candidate)
    if not found:
        return None
    kept.append(low[start:])
    return _THAT_ONE.sub(" ", " ".join(kept))


def _clause_kind(clause: str, title: bool, extra: tuple[str, ...]) -> str:
    """"refusal", "filler" (only allowed words, no cue), "explain" or "answer"."""
    low = clause.lower()
    if extra and fold(low) in extra:
        return "refusal"
    words = low.translate(_TO_WORDS).split()
    residue = (_residue(low, clause, title)
               if "n't" in low or not _TRIGGERS.isdisjoint(words) else None)
    if residue is None:
        if _ALLOWED.issuperset(words) or _ALLOWED.issuperset(
                _THAT_ONE.sub(" ", low).translate(_TO_WORDS).split()):
            return "filler"
    elif _ALLOWED.issuperset(_THAT_ONE.sub(" ", residue).translate(_TO_WORDS).split()):
        return "refusal"
    if _EXPLAIN.match(low):
        return "explain"
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
    words = low.translate(_FAST).replace("n't", " not").replace("'", " ").split()
    return not _TRIGGERS.isdisjoint(words)


def is_refusal_sentence(sentence: str, extra: tuple[str, ...] = ()) -> bool:
    """One sentence: every clause a refusal or a filler, at least one a refusal."""
    return is_abstention(sentence, extra)


def is_abstention(text: str, phrases: tuple[str, ...] | list[str] = ()) -> bool:
    """True when the answer declines to answer: every clause is a refusal (a cue with nothing
    else that could be an answer), a filler or an explanation, and at least one is a refusal
    (built-in grammar, or one of ``phrases`` as a whole sentence or clause). Empty text is not
    an abstention (see scoring)."""
    extra = tuple(f for f in (fold(p) for p in phrases) if f)
    if extra and fold(text) in extra:
        return True
    if not extra and not _may_refuse(str(text).translate(_FAST).lower()):
        return False
    cleaned = _clean(text)
    if extra:  # a whole sentence equal to an extra phrase reads as the built-in "n/a"
        cleaned = "\n".join("n/a" if fold(s) in extra else s for s in _SENTENCE.split(cleaned))
    title = _is_title(cleaned)
    refused = explaining = label = False
    first = True  # the clause starts a sentence
    for piece, delimiter in _pieces(cleaned):
        clause = piece.strip(_TRAIL + _LEAD)
        ends = delimiter[:1] in ".!?;\u2026\n" or "\n" in delimiter
        if clause and not explaining:
            kind = _clause_kind(clause, title, extra)
            if label and kind != "refusal":
                return False  # "Author: Paris"
            label = False
            if kind == "answer" and first and delimiter.startswith(":") and (
                    _LABEL_SHAPE.fullmatch(clause)):
                label = True  # a field label: "Author: not mentioned"
            elif kind == "explain":
                explaining = True  # the rest of the sentence explains the refusal
            elif kind == "answer":
                return False
            refused = refused or kind == "refusal"
        first = ends
        explaining = explaining and not ends
    return refused and not label


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
