"""Run ids (docs/cli.md): letters, digits, '.', '-', '_'; no path separators, no '..'; at
most 120 characters."""

from __future__ import annotations

import pytest

from evalcli.errors import RunError
from evalcli.store.rundir import new_run_id, validate_run_id


@pytest.mark.parametrize("good", ["a", "run-1", "a" * 120, "ü-1", "2026.01_x"])
def test_valid_run_ids_pass_unchanged(good):
    assert validate_run_id(good) == good


def test_generated_run_ids_are_valid():
    run_id = new_run_id()
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize("bad", ["a" * 121, "", "..", "a..b", "../x", "a/b", "a\\b", ".hidden",
                                 "-flag", "a b", "a\n", "a\x00"])
def test_invalid_run_ids_are_refused_with_the_rule(bad):
    with pytest.raises(RunError) as info:
        validate_run_id(bad)
    assert "at most 120 characters" in info.value.message
