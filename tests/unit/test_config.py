"""Profiles: bundled ones load, and every bad input is one line naming the file and key."""

from __future__ import annotations

import re

import pytest

from evalcli.errors import ConfigError
from evalcli.inputs.config import decode_profile, load_profile
from profiles import bundled_profiles


def test_bundled_profiles_load():
    names = bundled_profiles()
    assert {"local-llamacpp", "mock"} <= set(names)
    for name in names:
        loaded = load_profile(name)
        assert loaded.source == f"bundled:{name}"


def test_local_llamacpp_defaults():
    profile = load_profile("local-llamacpp").profile
    assert profile.engine.name == "llama_cpp"
    assert profile.engine.options["model"] == ""  # the embedded demo model
    assert profile.sampling.temperatures == [0.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[engine]\nname = "mock"\nwrokers = 2\n', "unknown key engine.wrokers"),
        ('[engine]\nname = "mock"\n[engine.options]\naccuracyy = 1\n',
         "unknown key engine.options.accuracyy"),
        ('[engine]\nname = "mock"\n[sampling]\ntop_p = "high"\n', 'sampling.top_p = "high" — give a number > 0'),
        ('description = "x"\n', "missing required key engine"),
        ('[engine]\nname = "nope"\n', 'engine.name = \'nope\' is not an engine'),
        ('[engine]\nname = "mock"\nworkers = 0\n', "engine.workers = 0 — give a whole number from 1 to 1024"),
        ('[engine\nname = "mock"\n', "not valid TOML"),
        ('[engine]\nname = "mock"\n[[datasets]]\nformat = "sample"\ncolour = 1\n',
         "unknown key datasets[0].colour"),
        ('[engine]\nname = "mock"\n[[engine.variants]]\nmodel = "a"\n[[engine.variants]]\n'
         'accuracyy = 1\n', "unknown key engine.variants[1].accuracyy"),
        ('[engine]\nname = "mock"\n[sampling]\ntop_p = [0.9, 0.9]\n', "sampling.top_p lists a value twice"),
        ('[engine]\nname = "mock"\n[sampling]\ntop_k = []\n', "sampling.top_k = [] — give at least one value"),
        ('[engine]\nname = "mock"\n[sampling]\ntop_p = [0.0]\n', "sampling.top_p[0] = 0.0 — give a number > 0 and <= 1"),
    ],
)
def test_bad_profiles_name_file_and_key(text, expected):
    with pytest.raises(ConfigError) as info:
        decode_profile(text, "my.toml")
    message = info.value.message
    assert message.startswith("my.toml: ") and expected in message
    assert "\n" not in message


def test_missing_profile_file_and_unknown_bundled_name(tmp_path):
    with pytest.raises(ConfigError, match="profile file not found"):
        load_profile(str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="bundled profiles are"):
        load_profile("no-such-profile")


def test_stopping_table_is_optional_and_validated():
    assert decode_profile('[engine]\nname = "mock"\n', "p.toml").stopping is None
    s = decode_profile('[engine]\nname = "mock"\n[stopping]\nmax_items = 100\nmargin = 0.05\n',
                       "p.toml").stopping
    assert (s.control, s.treatment, s.max_items, s.margin) == ("control", "treatment", 100, 0.05)
    for body, words in (("alpha = 1.5", "stopping.alpha = 1.5"),
                        ('metric = "bleu"', 'stopping.metric = "bleu" — use one of: abstain_rate, em, f1'),
                        ('arms = ["a", "a"]', "stopping.arms"),
                        ("max_items = 10\nmin_items = 40", "stopping.max_items = 10"),
                        ("alpah = 0.1", "unknown key stopping.alpah")):
        with pytest.raises(ConfigError, match=re.escape(words)):
            decode_profile(f'[engine]\nname = "mock"\n[stopping]\n{body}\n', "p.toml")
