"""Bundled profiles (TOML), shipped as package data and found through importlib.resources."""

from __future__ import annotations

from importlib import resources


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped with evalcli (file stems)."""
    return sorted(
        entry.name[: -len(".toml")]
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".toml")
    )


def bundled_profile_text(name: str) -> str | None:
    """The TOML text of bundled profile `name`, or None when there is no such profile."""
    entry = resources.files(__name__).joinpath(f"{name}.toml")
    return entry.read_text(encoding="utf-8") if entry.is_file() else None
