"""Resume refuses a run whose inputs changed since it started (docs/cli.md), one input at a
time: the config snapshot in run.json, a dataset file, the frozen items.jsonl (a changed
prompt file is in test_resume.py). Each is refused with a line naming what changed and
--force; --force resumes and records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import evalcli, write_profile

ITEMS = [{"item_id": f"q{i}", "question": f"What is {i} plus {i}?", "answers": [str(2 * i)]}
         for i in range(1, 4)]


def _started_run(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(x) + "\n" for x in ITEMS), encoding="utf-8")
    profile = write_profile(tmp_path / "p.toml", workers=1,
                            datasets=[{"format": "jsonl", "path": str(data), "type": "closed"}])
    runs = tmp_path / "runs"
    first = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "c")
    assert first.returncode == 0, first.stderr
    return runs, data


def _edit_config(runs: Path, data: Path) -> None:
    path = runs / "c" / "run.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["config"]["description"] = "edited after the start"
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _edit_dataset(runs: Path, data: Path) -> None:
    changed = [dict(x, answers=["999"]) if x["item_id"] == "q2" else x for x in ITEMS]
    data.write_text("".join(json.dumps(x) + "\n" for x in changed), encoding="utf-8")


def _edit_items(runs: Path, data: Path) -> None:
    items = runs / "c" / "items.jsonl"
    text = items.read_text(encoding="utf-8")
    assert "What is 3 plus 3?" in text
    items.write_text(text.replace("What is 3 plus 3?", "What is 3 plus three?"), encoding="utf-8")


@pytest.mark.parametrize(("edit", "words"), [
    (_edit_config, "config: the snapshot in run.json was edited"),
    (_edit_dataset, "items: the dataset files now give different items"),
    (_edit_items, "items: items.jsonl was modified"),
])
def test_resume_refuses_a_changed_input_unless_forced(tmp_path, edit, words):
    runs, data = _started_run(tmp_path)
    untouched = evalcli("resume", "c", "--runs-dir", runs)
    assert untouched.returncode == 0, untouched.stderr  # the control: nothing changed, no refusal
    edit(runs, data)
    refused = evalcli("resume", "c", "--runs-dir", runs)
    assert refused.returncode == 4, (refused.stdout, refused.stderr)
    assert words in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    forced = evalcli("resume", "c", "--runs-dir", runs, "--force")
    assert forced.returncode == 0, forced.stderr
    forced_events = [json.loads(x) for x in
                     (runs / "c" / "events.jsonl").read_text(encoding="utf-8").splitlines()
                     if '"resume_forced"' in x]
    assert len(forced_events) == 1 and any(words in c for c in forced_events[0]["changes"])
