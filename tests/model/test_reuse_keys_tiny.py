"""Reuse never crosses a changed model file or thread count (docs/reuse.md): llama_cpp runs
on tiny random-weight GGUFs, each with reuse on; the control pair (nothing changed) reuses
every answer, so a run that reuses nothing does so because of its one change."""

from __future__ import annotations

import json

import pytest

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
from tests.tiny_gguf import write_tiny_gguf  # noqa: E402

ITEMS = 2
UNITS = ITEMS * 2


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALCLI_ANSWER_CACHE", str(tmp_path / "answers.sqlite3"))
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"item_id": f"q{i}", "question": f"what is {i}",
                                        "answers": [str(i)]}) + "\n" for i in range(ITEMS)),
                    encoding="utf-8")
    return tmp_path, data


def _run(env, run_id: str, model, threads: int):
    tmp_path, data = env
    profile = write_profile(tmp_path / f"{run_id}.toml", engine="llama_cpp", workers=1,
                            options={"model": str(model), "n_threads": threads, "n_ctx": 2048,
                                     "verbose": False, "chat_template": "completion"},
                            sampling={"temperatures": [0.0], "samples_per_item": 1,
                                      "max_tokens": {"open": 3, "closed": 3}},
                            datasets=[{"format": "jsonl", "path": str(data), "type": "closed"}])
    result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs", "--run-id",
                     run_id, "--reuse", "--to", "parse", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    [trial] = trial_dirs(tmp_path / "runs" / run_id)
    rows = read_csv(trial / "predictions.csv")
    assert len(rows) == UNITS
    return sum(bool(r["reused_from"]) for r in rows)


def test_same_model_and_threads_reuse_everything(env):
    model = write_tiny_gguf(env[0] / "m.gguf", seed=1)
    assert _run(env, "a", model, 1) == 0
    assert _run(env, "b", model, 1) == UNITS


def test_another_model_file_reuses_nothing(env):
    model = write_tiny_gguf(env[0] / "m.gguf", seed=1)
    assert _run(env, "a", model, 1) == 0
    write_tiny_gguf(model, seed=2)  # the same path, other weights
    assert _run(env, "b", model, 1) == 0


def test_another_thread_count_reuses_nothing(env):
    model = write_tiny_gguf(env[0] / "m.gguf", seed=1)
    assert _run(env, "a", model, 1) == 0
    assert _run(env, "b", model, 2) == 0
