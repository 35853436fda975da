"""Test tiers by directory, marked automatically so they can be selected by name:

    tests/unit     -m unit      pure functions, fast
    tests/process  -m process   real spawned workers on the mock engine (crash matrix)
    tests/servers  -m server    loopback HTTP servers speaking each engine's wire format
    tests/model    -m model     real GGUF models through llama-cpp-python (skip: -m "not model")
"""

from __future__ import annotations

from pathlib import Path

import pytest

_TIERS = {"unit": pytest.mark.unit, "process": pytest.mark.process,
          "servers": pytest.mark.server, "model": pytest.mark.model}


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        try:
            tier = Path(item.fspath).resolve().relative_to(root).parts[0]
        except ValueError:
            continue
        if tier in _TIERS:
            item.add_marker(_TIERS[tier])
