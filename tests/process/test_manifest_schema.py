"""run.json, as written by real runs, matches the JSON Schema documented in
docs/run-directory.md (the docs are tested, not just written)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import evalcli, write_profile

jsonschema = pytest.importorskip("jsonschema")
DOC = Path(__file__).resolve().parents[2] / "docs" / "run-directory.md"


def _documented_schema() -> dict:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    schemas = [json.loads(b) for b in blocks if '"$schema"' in b]
    assert len(schemas) == 1, "docs/run-directory.md must hold exactly one JSON Schema"
    return schemas[0]


def test_run_json_matches_the_documented_schema(tmp_path):
    schema = _documented_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"fail_on": ["cb-"]},
                            run={"max_consecutive_failures": 0})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "4", "--runs-dir", runs,
                     "--run-id", "s")
    assert result.returncode == 5, result.stderr  # finished, with failed units
    manifest = json.loads((runs / "s" / "run.json").read_text(encoding="utf-8"))
    jsonschema.validate(manifest, schema)
    assert manifest["status"] == "completed"
    assert set(manifest["stages"]) == {"prepare", "plan", "generate", "parse", "score", "stats",
                                       "costs", "report"}
    assert all(stage["status"] == "done" for stage in manifest["stages"].values())
    [trial] = manifest["trials"].values()
    assert trial["failed"] > 0 and trial["done"] + trial["failed"] == trial["planned"]
