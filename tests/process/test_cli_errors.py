"""Bad input: one line naming the file and key or line, a non-zero exit, no traceback,
and nothing written."""

from __future__ import annotations

import json

from tests.helpers import evalcli, write_profile


def _one_line_error(result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    for needle in needles:
        assert needle in err, err


def test_unknown_key_in_profile(tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text('[engine]\nname = "mock"\nworkerz = 2\n', encoding="utf-8")
    result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs", process=True)
    _one_line_error(result, 2, str(profile), "engine.workerz")
    assert not (tmp_path / "runs").exists()


def test_missing_model_file(tmp_path):
    result = evalcli("run", "--profile", "local-llamacpp", "--model", tmp_path / "nope.gguf",
                     "--runs-dir", tmp_path / "runs")
    _one_line_error(result, 3, "model file not found", "nope.gguf")
    assert not (tmp_path / "runs").exists()


def test_model_that_is_not_gguf(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    result = evalcli("run", "--profile", "local-llamacpp", "--model", fake,
                     "--runs-dir", tmp_path / "runs")
    _one_line_error(result, 3, "not a GGUF file")


def test_unreadable_dataset_line(tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text('{"item_id": "a", "question": "Q?", "answers": ["x"]}\n{"item_id": "b"\n',
                    encoding="utf-8")
    profile = write_profile(tmp_path / "p.toml",
                            datasets=[{"format": "jsonl", "path": str(data), "type": "closed"}])
    result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs")
    _one_line_error(result, 2, "items.jsonl", "line 2")


def test_missing_dataset_file(tmp_path):
    profile = write_profile(tmp_path / "p.toml",
                            datasets=[{"format": "jsonl", "path": "missing.jsonl",
                                       "type": "closed"}])
    result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs")
    _one_line_error(result, 2, "missing.jsonl")


def test_unknown_profile_name(tmp_path):
    result = evalcli("run", "--profile", "no-such", "--runs-dir", tmp_path / "runs")
    _one_line_error(result, 2, "no-such", "local-llamacpp")


def test_plan_only_creates_nothing(tmp_path):
    result = evalcli("run", "--profile", "mock", "--limit-items", "4", "--plan-only",
                     "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["units"] == 8 and plan["conditions"] == ["control", "treatment"]
    assert [(g["condition"], g["units"]) for g in plan["order"]] == [("control", 4),
                                                                      ("treatment", 4)]
    assert plan["workers"] == 2 and len(plan["trials"]) == 1
    assert not (tmp_path / "runs").exists()


def test_dry_run_uses_the_mock_engine(tmp_path):
    result = evalcli("run", "--profile", "local-llamacpp", "--dry-run", "--limit-items", "3",
                     "--runs-dir", tmp_path / "runs", "--run-id", "d")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "runs" / "d" / "run.json").read_text(encoding="utf-8"))
    assert manifest["config"]["engine"]["name"] == "mock"


def test_existing_run_id_is_refused(tmp_path):
    args = ("run", "--profile", "mock", "--limit-items", "2", "--runs-dir", tmp_path / "runs",
            "--run-id", "same")
    assert evalcli(*args, process=True).returncode == 0
    _one_line_error(evalcli(*args, process=True), 4, "already exists", "evalcli resume same")
