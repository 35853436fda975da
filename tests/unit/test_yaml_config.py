"""Telling a predecessor YAML config from a broken TOML profile, by its first lines."""

from __future__ import annotations

from pathlib import Path

import pytest

import profiles
from evalcli.errors import ConfigError
from evalcli.inputs.config import decode_profile
from evalcli.inputs.yaml_config import looks_like_yaml


@pytest.mark.parametrize("text", [
    "model_id: accounts/fireworks/models/gpt-oss-120b\n",
    "# the local config\n\nbackend: local\nlocal_engine: ollama\n",
    "---\ntemps: [0.0, 0.7]\n",
    "temps:\n  - 0.0\n",
])
def test_predecessor_configs_look_like_yaml(text):
    assert looks_like_yaml(text)


@pytest.mark.parametrize("name", profiles.bundled_profiles())
def test_no_bundled_profile_looks_like_yaml(name):
    assert not looks_like_yaml(profiles.bundled_profile_text(name))


@pytest.mark.parametrize("text", ['[engine\nname = "mock"\n', 'description = "a: b"\nx = \n',
                                  "", "# only a comment\n"])
def test_broken_toml_is_still_called_broken_toml(text):
    assert not looks_like_yaml(text)
    with pytest.raises(ConfigError, match="not valid TOML|engine"):
        decode_profile(text, "p.toml")


def test_the_docs_section_the_pointer_names_exists():
    docs = Path(__file__).resolve().parents[2] / "docs" / "profiles.md"
    assert "\n## From a YAML config\n" in docs.read_text(encoding="utf-8")
