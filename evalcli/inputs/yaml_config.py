"""A predecessor YAML config given where a profile goes: one line that says so, and where the
key-by-key migration is (docs/profiles.md, "From a YAML config").

    --profile config/eval_config.local.yaml   (the suffix)          ─┐
    --profile my.conf whose TOML will not parse and that reads like  ─┴─► pointer()
        YAML: "model_id: ...", "temps:", a "---" document start

Only the shape of the first lines is looked at: evalcli never parses YAML.
"""

from __future__ import annotations

import re

SUFFIXES = (".yaml", ".yml")
DOCS = 'docs/profiles.md, "From a YAML config"'

# `key:` or `key: value` at the start of a line (YAML's mapping), not TOML's `key = value`
_MAPPING_LINE = re.compile(r"^[A-Za-z_][\w.-]*\s*:(\s|$)")


def looks_like_yaml(text: str) -> bool:
    """True when the first meaningful line of `text` is a YAML document start or mapping."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return stripped == "---" or bool(_MAPPING_LINE.match(stripped))
    return False


def pointer(label: str) -> str:
    """The one line for a YAML config given as a profile."""
    return (f"{label}: this is a YAML config (the predecessor's format); evalcli profiles are "
            f"TOML — see {DOCS} for which key goes where, or start from a bundled profile: "
            f"evalcli run --profile local-llamacpp --plan-only")
