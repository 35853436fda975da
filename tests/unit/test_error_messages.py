"""Every user-facing message stays one readable line, whatever value it quotes."""

from __future__ import annotations

from evalcli.errors import MAX_MESSAGE, DataError, clip_message


def test_a_short_message_is_kept_exactly():
    text = "a.csv line 2: prompt_tokens = 1e400 is not a usable number — fix the cell"
    assert clip_message(text) == text
    assert DataError(text).message == text


def test_an_over_long_value_keeps_its_two_ends_and_the_fix():
    message = DataError(f"a.csv line 2: custom_id '{'x' * 60_000_000}' is wrong — fix it").message
    assert message.startswith("a.csv line 2: custom_id 'xxx")
    assert message.endswith("xxx' is wrong — fix it")
    assert "…(59,999,782 characters)…" in message and len(message) < 400


def test_a_long_message_of_short_words_is_capped():
    message = clip_message("start " + "ab " * 100_000 + "— the fix")
    assert message.startswith("start ab ") and message.endswith("— the fix")
    assert len(message) < MAX_MESSAGE + 100
