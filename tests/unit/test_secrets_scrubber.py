"""The one scrubber (engines/secrets.py): the key and every run of ≥ 8 of its characters are
cut, whether the key is known or only its fingerprint; shorter pieces and other text stay."""

from __future__ import annotations

import json
import re

import pytest

from engines.http import error_detail
from engines.secrets import BadKey, Scrubber, fingerprint, read_key

KEY = "sk-proj-AbC123xyz_9876-QWERTY"


@pytest.mark.parametrize("make", [lambda: Scrubber([KEY]),
                                  lambda: Scrubber.from_fingerprint(fingerprint([KEY]))])
def test_every_run_of_eight_or_more_is_cut(make):
    s = make()
    assert s.scrub(f"a {KEY} b") == "a *** b"
    assert s.scrub(f"x{KEY[:8]}y") == "x***y"          # a prefix left by a cut
    assert s.scrub(f"({KEY[-9:]})") == "(***)"          # a tail
    assert s.scrub(f"[{KEY[4:16]}]") == "[***]"         # a middle
    assert s.scrub(f"{KEY[:7]} {KEY[-7:]}") == f"{KEY[:7]} {KEY[-7:]}"  # < 8: kept
    assert s.scrub("nothing here") == "nothing here"
    assert s.scrub_bytes(f"\xff{KEY}".encode("latin-1", "replace")).count(b"***") == 1


def test_the_fingerprint_holds_no_piece_of_the_key():
    """The record is the scheme, the punctuation, and random-looking hex (the salt, the
    window hashes). A 4-character piece of the key that is itself lowercase hex ("9876")
    turns up in 700 random hex digits about once in 90 records, by chance: those pieces are
    checked by the hex fields being exactly hashes' hex, every other piece anywhere."""
    fp = fingerprint([KEY])
    record = json.dumps(fp)
    assert re.fullmatch(r"[0-9a-f]{32}", fp["salt"])
    assert fp["windows"] and all(re.fullmatch(r"[0-9a-f]{32}", w) for w in fp["windows"])
    assert set(fp) == {"scheme", "salt", "windows", "chars"} and fp["chars"] == "-_"
    pieces = [KEY[i:i + 4] for i in range(len(KEY) - 3)]
    assert sum(not re.fullmatch(r"[0-9a-f]{4}", p) for p in pieces) >= len(pieces) - 1
    for piece in pieces:
        if not re.fullmatch(r"[0-9a-f]{4}", piece):
            assert piece not in record, piece
    assert fingerprint([]) == {} and not Scrubber.from_fingerprint({})
    assert not Scrubber.from_fingerprint({"scheme": "unknown"})


def test_scrubbed_before_truncation():
    body = json.dumps({"error": "x" * 290 + KEY}).encode()
    detail = error_detail(body, Scrubber([KEY]).scrub)
    assert KEY[:8] not in detail and "***" in detail


def test_read_key():
    assert read_key("K", {"K": KEY + "\n"}) == (KEY, read_key("K", {"K": KEY + "\n"})[1])
    assert "newline" in read_key("K", {"K": KEY + "\r\n"})[1]
    assert read_key("K", {"K": KEY}) == (KEY, "")
    for bad in (KEY + "é", KEY[:5] + "\n" + KEY[5:], KEY + " ", "\x7f" + KEY):
        with pytest.raises(BadKey) as info:
            read_key("K", {"K": bad})
        assert KEY[:8] not in str(info.value) and "$K" in str(info.value)


def test_a_second_key_joins_the_fingerprint():
    from engines.secrets import extend_fingerprint

    other = "sk-other-ZZZZ99998888"
    record = extend_fingerprint(fingerprint([KEY]), [other])
    s = Scrubber.from_fingerprint(record)
    assert s.scrub(f"{KEY} {other}") == "*** ***"
    assert extend_fingerprint(record, [KEY])["windows"] == record["windows"]
    assert Scrubber.from_fingerprint(extend_fingerprint({}, [KEY])).scrub(KEY) == "***"
