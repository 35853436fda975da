"""Run ids (docs/cli.md): ASCII letters, digits, '.', '-', '_'; no path separators, no '..';
at most 120 characters (the Windows device names are in test_run_integrity.py)."""

from __future__ import annotations

import pytest

from evalcli.errors import RunError
from evalcli.store.rundir import new_run_id, validate_run_id


@pytest.mark.parametrize("good", ["a", "run-1", "a" * 120, "2026.01_x"])
def test_valid_run_ids_pass_unchanged(good):
    assert validate_run_id(good) == good


def test_generated_run_ids_are_valid():
    run_id = new_run_id()
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize("bad, rule", [
    ("a" * 121, "at most 120 characters"), ("", "empty"), ("..", "'..'"), ("a..b", "'..'"),
    ("../x", "path separators"), ("a/b", "path separators"), ("a\\b", "path separators"),
    (".hidden", "starting with"), ("-flag", "starting with"), ("a b", "no spaces"),
    ("a\n", "ASCII"), ("a\x00", "ASCII"), ("ü-1", "ASCII")])
def test_invalid_run_ids_are_refused_with_the_rule(bad, rule):
    with pytest.raises(RunError) as info:
        validate_run_id(bad)
    assert rule in info.value.message
