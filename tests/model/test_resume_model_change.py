"""Resume refuses a run whose model file changed since it started (docs/cli.md), and goes on
when it did not: a llama_cpp run on a tiny random-weight GGUF, stopped after generate."""

from __future__ import annotations

import json

import pytest

from tests.helpers import evalcli, write_profile

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
from tests.tiny_gguf import write_tiny_gguf  # noqa: E402


def test_resume_refuses_a_changed_model_file_unless_forced(tmp_path):
    model = write_tiny_gguf(tmp_path / "m.gguf", seed=1)
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"item_id": f"q{i}", "question": f"what is {i}",
                                        "answers": [str(i)]}) + "\n" for i in range(2)),
                    encoding="utf-8")
    profile = write_profile(tmp_path / "p.toml", engine="llama_cpp", workers=1,
                            options={"model": str(model), "n_threads": 1, "n_ctx": 4096,
                                     "verbose": False, "chat_template": "completion"},
                            sampling={"temperatures": [0.0], "samples_per_item": 1,
                                      "max_tokens": {"open": 2, "closed": 2}},
                            datasets=[{"format": "jsonl", "path": str(data), "type": "closed"}])
    runs = tmp_path / "runs"
    started = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "m",
                      "--to", "generate", cwd=tmp_path, timeout=300)
    assert started.returncode == 0, started.stderr[-2000:]
    untouched = evalcli("resume", "m", "--runs-dir", runs, "--to", "parse", cwd=tmp_path,
                        timeout=300)
    assert untouched.returncode == 0, untouched.stderr[-2000:]  # the control: same file

    write_tiny_gguf(model, seed=2)  # same path, other weights
    refused = evalcli("resume", "m", "--runs-dir", runs, cwd=tmp_path, timeout=300)
    assert refused.returncode == 4, (refused.stdout, refused.stderr)
    assert f"model: {model.resolve()} is not the file the run started with" in refused.stderr
    assert "Traceback" not in refused.stderr
    forced = evalcli("resume", "m", "--runs-dir", runs, "--force", cwd=tmp_path, timeout=300)
    assert forced.returncode == 0, forced.stderr[-2000:]
