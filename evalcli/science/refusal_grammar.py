"""The grammar of declining to answer, in English: the words and patterns
evalcli/science/refusals.py applies clause by clause (the mechanism is there).

    CUE        what declines: a negation, then within five filler words (_FILL) a word of
               knowing, answering or sourcing (_PRED); a word that declines alone (_ALONE);
               "not in the passage" (_NOT_IN); "says nothing" (_SAYS_NOTHING); "no date is given"
               (_NO_NOUN);
               "no public information" (_NO_INFO); a request for what is missing (_NEED);
               "nobody knows" (group "third", not a cue in a Title Cased answer)
    WH, IF,    what a cue governs and takes with it: a restated question, a topic, an object
    TOPIC,     with a determiner; COPULA marks a complement that states something (or starts
    OBJECT     with a number): that one is a candidate answer, not a restatement
    SUBJECT    a subject restating the question before a predicative cue ("The architect is
               not mentioned"); PASSIVE: the cue itself is predicative ("cannot be determined")
    ALLOWED    the words left over that cannot be a candidate answer
    EXPLAIN    a clause saying the source covers something else ("It only covers the railway")
    STARTS, TRIGGERS   the words a cue can start with / must contain (the fast paths)

Everything here is lower case: refusals.py lower-cases each clause before matching.
"""

from __future__ import annotations

import re


# -- the grammar --------------------------------------------------------------------------------
def _words(*groups: str) -> str:
    """An alternation of the words, as a trie ("a(?:n(?:y(?:thing)?)?)?"): the same strings,
    but the engine tries one branch per letter instead of every word in turn (the filler
    alternation is tried up to five times at every cue)."""
    tree: dict = {}
    for word in {w for g in groups for w in g.split()}:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


_SOURCE = ("passage passages text texts context document documents article paragraph excerpt "
           "extract snippet source sources material materials content story reading prompt "
           "input sentence sentences section summary page transcript data information info "
           "provided given above below supplied details question author writer narrator")
_NEG_WORDS = ("not never no nothing none nobody nowhere neither nor cannot without lack lacks "
              "fail fails failed failing "
              "lacking "
              "lacked unable impossible hard difficult tough tricky outside beyond insufficient "
              "inadequate cant aint dont doesnt didnt isnt arent wasnt werent hasnt havent hadnt "
              "couldnt wouldnt wont shouldnt mustnt neednt")
_NEG = (r"(?:not|never|no one|no|nothing|none|nobody|nowhere|neither|nor|cannot|can not|without"
        r"|lacks?|lacking|lacked|unable to|impossible to|(?:hard|difficult|tough|tricky) to"
        r"|outside|beyond|insufficient|inadequate|cant|aint|fail(?:s|ed|ing)? to"
        r"|(?:prevents?|prevented|keeps?|kept|stops?|stopped|precludes?) (?:me|us) from"
        r"|(?:too|very|precious|so) little"
        # declining: "I'll refrain from answering", "I must decline to answer"
        r"|refrain(?:s|ing)? from|declin(?:e|es|ing) to|refus(?:e|es|ing) to"
        r"|(?:do|does|did|is|are|was|were|am|has|have|had|ca|could|would|wo|should|must|need"
        r"|ai)(?:n't|nt))\b")
_FILL = _words(
    "really actually exactly quite fully entirely completely totally truly all that so too very "
    "yet currently presently explicitly directly specifically clearly definitively definitely "
    "precisely reliably accurately confidently possibly even ever any anything something much "
    "more further additional enough sufficient relevant specific clear explicit direct such "
    "other useful concrete precise reliable detailed be been being have has had get got able "
    "to possible in a an the this that these those its going way ways means of i we "
    "you me us it can could will would do does did is are was were make makes made give gives "
    "gave seem seems appear appears from on at for with within one here hand 100% where "
    "anywhere definitive conclusive straightforward single correct right possess hold access "
    "positively prefer rather necessary required needed suitable known appropriate adequate "
    "draw some think believe suppose reckon imagine expect quite go goes going into much "
    "look looks like publicly faintest foggiest slightest remotest vaguest least earthly grounds basis gets "
    "around "
    # what kind of knowledge or data: "no real-time information", "no personal knowledge"
    "real-time realtime up-to-date current live recent latest personal firsthand first-hand "
    "updated internet web online browsing", _SOURCE)
# fillers that need their "to": "not allowed to say" (but "not allowed in this state")
_FILL_TO = (r"(?:equipped|authori[sz]ed|permitted|allowed|qualified|at liberty|in a position"
            r"|in the position) to")
# nouns as often as verbs: a predicate only right after a negated verb ("doesn't state",
# "never names"), not in "no other state"
_VERB_PRED = r"(?:stat(?:e|es|ing)|names?|lists?)\b"
_PRED = (
    r"(?:know|knows|knew|known|knowing|knowledge|sure|certain|certainty|aware|confident|idea"
    r"|familiar|acquainted|privy|foggiest|notion"
    r"|clues?|answer(?:s|ed|ing|able)?|determin(?:e|es|ed|ing|able|ation)|say|says|said|saying"
    r"|tell|tells|told|telling|stat(?:ed|ement)|mention(?:s|ed|ing)?|give|gives|given"
    r"|gave|specif(?:y|ies|ied|ying|ics)|provid(?:e|es|ed|ing)|cover(?:s|ed|ing)?"
    r"|includ(?:e|es|ed|ing)|contain(?:s|ed|ing)?|available|present|finds?|found|locat(?:e|ed)"
    r"|listed|named|identif(?:y|ies|ied|iable)|confirm(?:s|ed)?"
    r"|verif(?:y|ies|ied|iable)|establish(?:es|ed)?|infer(?:s|red)?|deduc(?:e|es|ed)"
    r"|ascertain(?:s|ed)?|indicat(?:e|es|ed|ion)|disclos(?:e|es|ed)|discuss(?:es|ed)?"
    r"|address(?:es|ed)?|describ(?:e|es|ed)|explain(?:s|ed)?|reveal(?:s|ed)?|report(?:s|ed)?"
    r"|record(?:s|ed)?|not(?:e|es|ed)|clear|clarif(?:y|ies|ied)|recall|remember|help"
    r"|informations?|info|data|details?|context|evidence|references?|referenced|hints?|sign"
    r"|pinpoint|comment|work(?: (?:it|this|that))? out|figure(?: (?:it|this|that))? out"
    r"|guess|way of knowing|positive|predict(?:s|ed)?|calculat(?:e|es|ed)|estimat(?:e|es|ed)"
    r"|comput(?:e|es|ed)|judg(?:e|es|ed)|assess(?:es|ed)?|conclud(?:e|es|ed)|speculat(?:e|es|ed)"
    r"|measur(?:e|es|ed)|quantif(?:y|ies|ied)|access|respond|reply|conclusions?|heard|hear"
    r"|understand|understood|follow|responses?|insights?|background|confidence|talk|share"
    r"|divulge|elaborate|see|sees|seeing|seen|saw|spot|spotting|notice|offers?|offered"
    # how far a source goes: "doesn't go into that", "isn't specific about it"
    r"|go(?:es)? into|get(?:s)? into|delves? into|touch(?:es)? (?:on|upon)|dwells? on"
    r"|expands? on|specific|explicit|precise|definite|documented|published|made public"
    r"|go(?:es)? (?:that|this|so) far|get(?:s)? (?:that|this|so) far|go on(?=\W*$| here| there)"
    r"|spel(?:l|ls|led|t)(?: (?:it|this|that))? out|speak(?: to| on| about)?"
    # a false premise: "The passage does not support any answer", "never introduces a Tom"
    r"|support(?:s|ed)?|introduc(?:e|es|ed)|resolv(?:e|es|ed)"
    r"|computable|calculable|derivable|inferable|deducible|knowable"
    # looking it up (closed book): "I can't browse the web", "not able to look that up"
    # (verbs, not nouns: "no search is done" states; "check" without an object or with a
    # pronoun one: "Doesn't check the string …" states)
    r"|(?<!no )(?:brows(?:e|ing)|look(?:ing)?(?: (?:it|that|this|them))? up|search(?:ing)?"
    r"|check(?:ing)?(?=\W*$| (?:it|that|this|online|the (?:web|internet))\b)"
    r"|google|retriev(?:e|ing)|fetch(?:ing)?))\b")
_ALONE_WORDS = ("unknown unknowable unclear unsure uncertain unspecified unstated unmentioned "
                "unsaid untold inconclusive null omits omitted omit unreported unrevealed "
                "unattested stumped clueless baffled perplexed "
                "ambiguous vague unanswered unaddressed unexplained unresolved "
                "undetermined undeterminable indeterminate undisclosed unanswerable unavailable "
                "unconfirmed unverified unverifiable undocumented unrecorded unidentified "
                "idk dunno")
# the kind of answer a question asks for (when: date, who: name, how many: number, why:
# reason): "No date given", "Year not given" restate the question
_ATTR = ("date dates year years time name names place location figure figures number numbers "
         "amount reason reasons cause age price cost total count")
_ALONE = (
    rf"(?<!the )(?:{_words(_ALONE_WORDS)}|not applicable|beats me|search me)\b|n/a(?!\w)"
    # what a source leaves out: "The passage leaves this out", "skips over it", "left unsaid"
    r"|(?:leaves?|left|leaving)(?: (?:this|that|it|these|those|them))? out\b"
    r"|(?:skip(?:s|ped)?|gloss(?:es|ed)?|pass(?:es|ed)?) over\b"
    r"|left (?:unsaid|unstated|unmentioned|unanswered|unexplained|unclear|open|blank|out)\b"
    # speculation: "I'd be guessing", "Any answer would be a guess"
    r"|(?:would|'d) be (?:a |an |pure |just |mere |only |idle )?(?:guess(?:ing|work)?"
    r"|speculat(?:ion|ing|ive)|conjecture)\b"
    # not a word: "Not a word about it in the passage", "Zero mentions of that"
    r"|(?:not|nary) (?:a|one|a single) (?:word|syllable)\b|zero (?:mentions?|references?"
    r"|information|info|details?)\b"
    # a source that gives no attribute: "The passage gives no name for him"
    r"|(?:gives?|provides?|offers?|lists?|includes?|contains?|has|states?|mentions?) no"
    rf" (?:exact |specific |precise )?(?:{_words(_ATTR)})\b"
    # "N/K" (not known)
    r"|n/k(?!\w)"
    # declining this one: "I'll have to pass on this one", "I'll skip this one"
    r"|(?:pass|skip|sit out)(?: on)? (?:this|that)(?: one| question)?(?=\W*$)"
    # "I've got nothing", "That's a mystery to me", "That one's beyond me", "leaves that open"
    r"|(?<=got )nothing(?=\W*$)|mystery to (?:me|us)\b|beyond me\b"
    r"|leaves? (?:this|that|it|the question|the matter) open\b"
    # no record of it: "To my knowledge, no such record exists"
    r"|no (?:such |known |surviving |public |reliable )?(?:records?|information|data|evidence"
    r"|mention|account|documentation|sources?) (?:exists?|survives?|remains?)\b"
    # still open: "That remains to be determined"
    r"|(?:remains?|remained|is yet|are yet) to be (?:determined|seen|confirmed|established"
    r"|answered|known|discovered|clarified|settled|resolved|found)\b"
    # memory: "I'm drawing a blank", "Nothing comes to mind"
    r"|(?:drawing|draw|drew|drawn) a blank\b|(?<=nothing )(?:comes|came|springs|sprang)"
    r" to mind\b|mind (?:is|went|goes) blank\b"
    # out of scope without a determiner: "Out of scope", "This falls outside the passage"
    r"|out of scope\b|(?:outside|beyond)(?: of)?(?: (?:the|this|that))?(?: (?:given|provided"
    rf"|above|supplied|original))? (?:{_words(_SOURCE)})\b"
    # a source that stops short: "The passage ends before saying who won"
    r"|(?:stops?|ends?|breaks? off|cuts? off|finishes)(?: (?:just|well))? (?:before|short of"
    r"|prior to) (?:(?:it|that|this) )?(?:says?|saying|tells?|telling|mentions?|mentioning"
    r"|getting to|reaching|naming|revealing|point|then)\b"
    # a training cut-off: "That's after my knowledge cutoff"
    r"|(?:my|the) (?:knowledge |training )?cut-?off\b"
    # a clause-final state without a copula: "Context insufficient", "Date missing" (a bare
    # "Missing." or "Absent." answers "Where is it?", "Was he there?")
    r"|(?<=[a-z] )(?:missing|absent|insufficient|inadequate|incomplete|lacking)(?=\W*$)"
    r"|(?:anyone|anybody)'?s guess\b|your guess is as good as mine\b"
    r"|(?:silent|mute|mum|quiet)(?= (?:on|about|regarding|concerning|as to|here|there|in this"
    r"|with regard)\b)"
    r"|(?:is|are|was|were|remains?|stays?|'s|'re) (?:simply |entirely |completely )?"
    r"(?:silent|mute|missing|absent|lacking|insufficient|inadequate|not sufficient|not enough"
    r"|incomplete)\b"
    # out of scope: "beyond my knowledge", "outside the scope of the passage"
    r"|(?:outside|beyond|out|not within|not in)(?: of)? (?:my|our|the|this|its) (?:scope"
    r"|knowledge|experience|training(?: data)?|capabilit(?:y|ies)|capacity|abilit(?:y|ies)"
    r"|(?:area of )?expertise|purview|remit)\b")
_NOT_IN = (rf"{_NEG}(?: (?:about|on|regarding|concerning|of|this|that|it|the|such|relevant"
           r"|useful|specific|like|kind|sort|information|info|details?|data|mention"
           r"|references?)){0,4}"
           # "not in there", "nothing about that here" (at the end of a clause)
           r"(?: (?:in )?(?:here|there)(?=\W*$| in\b)| (?:anywhere |explicitly |directly |(?:seem to "
           r"|appear to )?(?:appear"
           r"|appears|occur|occurs|exist|exists|feature|features|come up|show up|turn up"
           r"|figure|figures|be|is|are|was|were|'s) )?(?:in|from|within|part of|covered by"
           r"|found in|present in|included in|the scope of|what)(?: (?:the|this|that|a|any|my"
           r"|your))?(?: (?:given|provided|above|supplied|available|original))?"
           rf" (?:{_words(_SOURCE)})\b)")
# an inverted negation: "Nowhere in the text is the founder named", "At no point does the
# passage mention it" (the words between restate the question)
_NOWHERE = (rf"(?:nowhere|no where|(?<=at )no point|(?<=in )no (?:place|part))(?: (?:in|within|throughout|across)"
            rf"(?: (?:the|this|that))?(?: (?:given|provided|above|supplied|original))?"
            rf" (?:{_words(_SOURCE)}))? (?:is|are|was|were|does|do|did|has|have|can|could)"
            rf"(?: (?![\w'-]*\d)[\w'-]+){{0,6}}? {_PRED}")
_THIRD = (r"(?:(?:who|nobody|no one|no-one) (?:really )?(?:knows|can (?:say|tell))"
          r"|(?:god|heaven|lord|goodness) (?:only )?knows|who(?:'s| is) to (?:say|tell|know))\b")
_INFO = (r"(?:informations?|info|details?|data|answers?|mention|references?|indication|evidence"
         r"|claims?|assertions?"
         r"|knowledge|context|clues?|hints?|responses?|insights?|background|results?|matches)\b")
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
         rf"|clarify|specify|send|paste|include)(?: (?:me|us))?(?: (?:{_FILL}))* (?:{_INFO}|context"
         rf"|{_words(_SOURCE)}))"
         # the missing source itself: "I'd need to see the document", "More context is needed"
         rf"|need(?:s|ed)? to (?:see|read|have|check|know) (?:the|a|that|this|more|some)\b"
         rf"|(?:more|additional|further|extra|enough|sufficient)(?: (?:{_FILL}))*"
         rf" (?:{_INFO}|context)(?: (?:is|are|would be|will be|was|were))?(?: (?:still|also))?"
         r" (?:needed|required|necessary)\b"
         # a request to ask again: "Could you rephrase it?", "Would you mind clarifying?"
         r"|(?:could|can|would) you(?: please)? (?:rephrase|reword|restate|clarify|elaborate)"
         r"|would you mind (?:rephrasing|rewording|clarifying|elaborating)"
         r"|(?:trouble|difficulty) (?:understanding|following)\b"
         # declining to disclose: "That's confidential."
         r"|(?:that|this|it)(?:'s| is) (?:strictly )?(?:confidential|classified)\b")
# a participle that reports what the source gives: "No date given"
_PARTICIPLE_PRED = (r"(?:given|mentioned|stated|provided|specified|listed|named|found|known"
                    r"|available|recorded|included|reported|documented|identified|indicated)\b")
_NO_ATTR = (r"no (?:(?:exact|specific|precise|clear|actual|other|such|further|additional"
            rf"|explicit|definite|firm|official|particular) )?(?:{_words(_ATTR)})"
            rf"(?: (?:is|are|was|were|has been|have been))?(?: (?:{_FILL}))* {_PARTICIPLE_PRED}"
            # "No results.", "no matching results": a search that found nothing
            r"|no (?:relevant |matching |search )?(?:results?|matches)\b")
# "No date is given in the passage": the noun restates the question
_NO_NOUN = (rf"no (?:[a-z'-]+ ){{1,3}}(?:is|are|was|were|has been|have been|had been|can be"
            rf"|could be)(?: (?:{_FILL}))* {_PRED}")
CUE = re.compile(rf"\b(?:(?P<third>{_THIRD})|{_NOWHERE}|{_NOT_IN}|{_NEG}(?:(?: (?:{_FILL}))|'\w+"
                 rf"| {_FILL_TO}){{0,5}} {_PRED}(?:(?: (?:{_FILL})){{0,3}} {_INFO})?"
                 rf"|(?:not|never|cannot|fails? to|failed to|(?:do|does|did|ca|could|would|wo"
                 rf"|should)(?:n't|nt))(?: (?:explicitly|directly|clearly|specifically|actually"
                 rf"|even|really))?"
                 rf" {_VERB_PRED}|{_SAYS_NOTHING}|{_NO_ATTR}|{_NO_NOUN}"
                 rf"|{_NO_INFO}|{_NEED}|{_ALONE}"
                 # "… but not who built it", "but not by whom"
                 r"|not(?= (?:by |for |to |with |from )?(?:who|whom|whose|what|when|where|which"
                 r"|why|how|whether)\b))")
# the words a cue can start with: CUE is tried only there (scanning every position of a long
# answer with the whole alternation cost 130 us)
STARTS = frozenset(f"{_NEG_WORDS} {_ALONE_WORDS} can could would who your anyone anybody "
                    "prevents prevent prevented keeps keep kept stopped precludes preclude "
                    "leaves left leaving skip skips skipped gloss glosses glossed pass passes "
                    "passed 'd my missing absent incomplete more additional further extra "
                    "enough sufficient god heaven lord goodness drawing draw drew drawn mind "
                    "remain remains remained yet ends end stops stop breaks break cuts cut "
                    "finishes comes came springs sprang n/k mystery beyond mum quiet nary zero refrain "
                    "refrains refraining decline declines declining refuse refuses refusing "
                    "gives give provides provide offers offer lists list includes include "
                    "contains contain has states state mentions mention "
                    "silent mute is are was were remain remains stay stays 's 're need needs "
                    "needed "
                    "require requires required please kindly trouble difficulty that this it "
                    "beats search n/a out not fail fails failed".split())
START_WORD = re.compile(r"[a-z/]+(?:'t)?|'[a-z]+")
BEFORE_NOTHING = 3  # "says nothing", "tells us absolutely nothing": the cue starts at the verb
# a cue is possible only when one of these words is in the answer (the fast path)
TRIGGERS = frozenset(f"{_NEG_WORDS} {_ALONE_WORDS} n/a n who guess silent missing absent little "
                      "beats search applicable need needs needed require requires required "
                      "please kindly provide share supply clarify specify out incomplete "
                      "rephrase rephrasing reword rewording restate elaborate elaborating "
                      "clarifying trouble difficulty confidential classified "
                      "ambiguous vague fail fails failed mute unanswered unaddressed "
                      "unexplained unresolved "
                      # misspellings _clean repairs: "does'nt", "dosent", "dnt", "infomation"
                      "nt dosent dosnt doesent dnt guessing speculation speculative conjecture "
                      "cutoff na stumped clueless baffled perplexed mum quiet nary refrain "
                      "refrains refraining decline declines declining refuse refuses refusing "
                      "computable calculable derivable inferable deducible knowable".split())
# common words that start a cue only with a partner word in the same answer: "left … out",
# "passes over", "ends before", "comes to mind", "God knows", "prevents me from"; the fast
# path asks for both (alone they would send a fifth more ordinary prose down the slow path)
_PAIRS = {"leaves left leaving": "out unsaid unstated unmentioned unanswered unexplained unclear "
                                 "open blank",
          "skip skips skipped gloss glosses glossed pass passes passed": "over this that",
          "sit": "this that",
          "got": "nothing",
          "zero": "mention mentions references reference information info details detail",
          "mystery": "me us",
          "record records": "exists exist survives survive remains remain",
          "end ends stop stops stopped break breaks cut cuts finishes": "before short prior off",
          "comes came springs sprang blank": "mind drawing draw drew drawn",
          "mind": "blank comes came springs sprang",
          "god heaven lord goodness": "knows",
          "yet remain remains remained": "be",
          "send paste": "you please kindly",
          "prevents prevent prevented keeps keep kept stops stop stopped precludes preclude":
              "from"}
PAIRED: dict[str, frozenset[str]] = {}
for _words_, _partners in _PAIRS.items():
    for _w in _words_.split():
        PAIRED[_w] = PAIRED.get(_w, frozenset()) | frozenset(_partners.split())
PAIRED_WORDS = frozenset(PAIRED)
# what a cue governs: a restated question, a topic, an object with a determiner
_DET = (r"(?:the|a|an|any|this|that|these|those|its|his|her|their|such|your|my|our"
        r"|(?!(?:it|that|there|what|he|she|who|here|where|this|which|let)'s)\w+'s)")
WH = re.compile(r"\s*(?:(?:of|about|as to|on|regarding|concerning|for|to|by|with|from)\s+)?"
                r"(?:exactly\s+)?"
                 r"(?:who|whom|whose|what|when|where|which|why|how)\b")
# an indirect object between a cue and what it governs: "doesn't tell us what happened"
IOBJ = re.compile(r"\s*(?:us|me|you|them)(?=\s+(?:anything|something|much|about|regarding"
                  r"|concerning|of|as to|who|whom|whose|what|when|where|which|why|how|whether"
                  r"|if)\b)")
IF = re.compile(r"\s*(?:(?:of|about|as to|on)\s+)?(?:if|whether)\b")
TOPIC = re.compile(r"\s*(?:about|regarding|concerning|of|as to|as regards|re"
                   r"|with (?:regard|respect) to|in regard to)\s+(.*)")
# "to", "for", "on" take a topic only after an information noun ("no information on the
# architect") or a few words ("silent on", "comment on"): "not available on all platforms"
# and "not known for its beaches" are statements
INFO_TOPIC = re.compile(r"\s*(?:to|for|on|upon)\s+(.*)")
INFO_END = re.compile(r"(?:answers?|information|info|data|details?|references?|clues?|idea"
                      r"|evidence|indication|hints?|context|knowledge|mention|silent|comment|quiet"
                      r"|mum|word|syllable|sure|certain|clear|unclear|unsure|uncertain|"
                      + _words(_ATTR) + ")$")
OBJECT = re.compile(rf"\s*(?:(?:you|me|us|them)\s+)?{_DET}\s+(.*)")
# a complement that states something ("the capital is Paris") or starts with a number is
# not a restated question but a candidate answer
# (a copula before a participle is a passive inside the restated question: "the year the
# bridge was completed"; before anything else it states: "the capital is Paris")
_PARTICIPLE = (r"(?:[a-z]+(?:ed|en|wn)|built|made|held|sold|found|bought|brought|taught|sent"
               r"|spent|lost|left|kept|set|put|led|paid|laid|said|told|shot|hung|struck|won"
               r"|begun|run|done|sung|met|born|borne|worn|torn|sworn|read|fought|caught)\b")
COPULA = re.compile(r"\b(?:is|was|are|were|(?:it|that|what|there|here|he|she|who|where|this)'s)"
                    rf"\b(?! (?:first |later |originally |actually )?{_PARTICIPLE})|\bthan\b"
                    r"|^\W*\d")
# a passive inside what a cue governs: after it, a name or a number is a candidate ("I'm not
# sure the tower was built by Eiffel"), before it a restatement ("the year the bridge was
# completed")
PASSIVE_IN = re.compile(rf"\b(?:is|was|are|were)(?: [a-z]+)? {_PARTICIPLE}")
# a generic word between a cue and what it governs: "doesn't mention anything about …"
GENERIC = re.compile(r"\s*(?:anything|something|much|a thing|a word|any more|more|at all)\b")
# a source between a cue and what it governs: "not clear from the passage who won"
SOURCE_PHRASE = re.compile(r"\s*(?:from|in|based on|according to|within|by|given)"
                           r"(?: the| this| that)?(?: given| provided| above| available)?"
                           rf" (?:{_words(_SOURCE)})\b")
THAT_ONE = re.compile(r"\b(?:this|that|the|which|a|an)(?: \w+)? one\b"
                      r"|\b(?:tough|tricky|hard|difficult|good|great|interesting|curious) one\b")
# a subject that restates what was asked, before a predicative cue: "The architect is not
# mentioned", "Its date is unknown", "Who built it is not stated", "The winner cannot be named"
# (at most six words, none of them starting a clause of its own: "entries that cannot be
# determined", "… if it could not be determined" are about something else)
SUBJECT = re.compile(rf"(?:{_DET}|who|what|when|where|which|why|how|whether)\s+"
                     r"(?:(?!(?:that|which|who|whom|if|when|whenever|because|unless|while|and"
                     r"|or|but|so|then|than)\s)[\w'-]+\s+){0,6}?"
                     r"(?P<cop>(?:is|was|are|were|remains?|remained|has been|have been|had been"
                     r"|seems to be|appears to be)\s+(?:still\s+|also\s+|currently\s+"
                     r"|simply\s+|presently\s+)?)?")
SUBJECT_OF = re.compile(rf"(?:the|its|his|her|their)\s+(?:(?:exact|precise|actual|real|true"
                        rf"|specific|full)\s+)?(?:{_words(_ATTR)}|identity|nature|origin|fate"
                        r"|whereabouts)\s+of\s+[^\d]{0,80}?\s*(?P<cop>(?:is|was|are|were"
                        r"|remains?|remained|has been|have been|had been)\s+(?:still\s+|also\s+)?)?")
# a state of the world ("The painting is missing", "The vote was inconclusive"): its
# subject is not taken as a restated question
STATE = re.compile(r"missing|absent|lacking|incomplete|inconclusive|insufficient|inadequate|quiet|mum"
                   r"|not sufficient|not enough")
# a source verb before a "that" clause: the source denies the claim ("The passage doesn't
# state that he was a king"); after a verb of knowing it is a hedge ("not sure that it's X")
SAYS_THAT = re.compile(r"(?:say|says|said|state|states|stated|mention|mentions|mentioned"
                       r"|indicate|indicates|suggest|suggests|claim|claims|imply|implies"
                       r"|specify|specifies|show|shows|support|supports)$")
OFFER = re.compile(r"(?:but |however |though )?(?:i|we) (?:can|could|would be happy to|'d be happy"
                   r" to|am happy to|'m happy to) (?:tell you|help(?: you)? with|share|explain"
                   r"|talk about|give you)\b.*\b(?:if you(?:'d)? (?:like|want|wish|prefer)|instead)")
# a Title Cased imperative is a title: "Say Nothing", "Never Say Never"
TITLE_IMPERATIVE = re.compile(r"(?:never )?(?:say|tell|ask|give|speak)\b")
# a question echoed before the answer: "Who was the first mayor? The passage doesn't say."
QUESTION = re.compile(r"(?:who|whom|whose|what|when|where|which|why|how|is|are|was|were|do"
                      r"|does|did|can|could|has|have|had|will|would|should)\b")
# advice to look elsewhere after a refusal: "You might want to check an encyclopedia"
SUGGEST = re.compile(r"(?:you (?:might|may|could|should|can) (?:want to |wish to |need to )?"
                     r"|i (?:would |'d )?(?:recommend|suggest)(?:ing)? |try |consider |please )"
                     r"(?:check(?:ing)?|consult(?:ing)?|look(?:ing)? (?:it |this |that )?up"
                     r"|search(?:ing)?|refer(?:ring)? to|ask(?:ing)?|verify(?:ing)?)\b.*")
PASSIVE = re.compile(r"(?:is|are|was|were|remains?|stays?|'s|'re)\b|.*\bbe(?:en)?\b"
                      r"|(?:is|are|was|were|has|have|had)(?:n't|nt)\b")

# a bare "lack of evidence" names a cause (an acquittal, a rejected claim), not a missing
# source: with a source or a verb of answering it is a refusal ("… in the text to answer")
CAUSE = re.compile(r"(?:an? |the )?(?:(?:complete |total |general )?lack of|insufficient|not enough"
                   r"|inadequate|scant|little) (?:hard |scientific |physical )?evidence")
# "about the plan until 1944": a time bound makes a statement, not a restated question
UNTIL = re.compile(r"\b(?:until|till|since)\s+(?:the\s+)?(?:[a-z]+\s+)?\d")
DIGIT = re.compile(r"\d")
ENTITY = re.compile(r"\b(?!I\b|I')[A-Z]|\d")
ALLOWED = frozenset((
    # pronouns (not he / she: "He didn't know" is about someone), determiners, auxiliaries,
    # prepositions, conjunctions, negations
    "i me my we us our you your it its this that these those there here them their him "
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
    "understood properly solely purely strictly carefully after reading reviewing checking "
    "looking review read examining analyzing analysing searching scanning having nope nah "
    "yeah using use leaves leave seeing see seen saw spot spotting notice mute unanswered "
    "unaddressed unexplained unresolved "
    "excellent positive "
    # greetings and assents before a refusal ("Hello! I'd be happy to help, but …"), source
    # and scope phrases ("According to the passage", "beyond what the passage provides")
    "hello hi hey greetings certainly absolutely course according judging beyond outside "
    + _ATTR.replace(" time ", " ") + " "  # "at the time" is a statement's adjunct
    "keeps kept tbh lol lmao haha imo imho ngl tho btw best shared sent pasted uploaded "
    "attached looked checked searched scanned reviewed examined skimmed admit admittedly "
    "confess specifics many words mystery got exist exists survive survives ya due owing "
    "absence absent going upfront tl dr tldr summary short version bottom line conclusion "
    "verdict label prediction "
    "remain remains remained stays outdated stale suggest recommend recommended consulting "
    "familiar acquainted privy referring update updates last cutoff cut left "
    # labels of a reasoning step: "Reasoning: …", "Step 2: …"
    "reasoning explanation rationale thought thoughts analysis note justification step "
    "guessing speculation speculative conjecture "
    + _SOURCE).split())
EXPLAIN = re.compile(
    r"(?:(?:instead|rather|however|but|also|and|it seems|it appears|apparently|only)\s+)*"
    r"(?:(?:the|this|that|it|which|they|these)\s+)?(?:(?:given|provided|above|supplied"
    rf"|available|original|whole|entire)\s+)*(?:(?:{_words(_SOURCE)})\s+)?"
    r"(?:(?:only|instead|just|mainly|mostly|primarily|rather|merely|solely|simply|exclusively"
    r"|largely|seems to|appears to)\s+)*(?:covers?|discuss(?:es)?|focus(?:es)? on"
    r"|is (?:only |mainly |mostly |entirely |primarily )?(?:about|focused on|concerned with"
    r"|limited to)|are about|talks? about|deals? with|describes?|concerns?|mentions? only"
    r"|refers? to|relates? to|cent(?:er|re)s? on|address(?:es)?|explains?"
    r"|(?:gives?|provides?|contains?) (?:only )?(?:information|details)|asks? (?:about|for)"
    r"|is asking|asks? (?=who|what|when|where|which|why|how|whether|if)|asked|wants? to know"
    r"|(?:(?:only|just|merely|solely) (?:mentions?|says?|states?|lists?|gives?"
    r"|provides?|names?|includes?|contains?|has|tells? us)))\b")


# what the source does say, before a refusal in the same sentence: "The passage mentions the
# tower's height but not who built it" (with a number or a name in it, it may be the answer)
SOURCE_SAYS = re.compile(
    r"(?:(?:the|this|that)(?: (?:given|provided|above|supplied|original))? "
    rf"(?:{_words(_SOURCE)})|it) (?:(?:only|just|mainly|mostly|merely|does|also) )*"
    r"(?:mentions?|says?|states?|notes?|describes?|discusses?|covers?|talks? about|gives?"
    r"|provides?|lists?|names?|explains?|refers? to|includes?|contains?|focus(?:es)? on"
    r"|tells? us about|is about|deals? with)\b")
