"""Reuse of finished answers across runs (docs/reuse.md), through the real CLI on the mock
engine: what is reused and what never is, two runs at once on one store, a damaged store,
and the determinism check that turns reuse off for a model whose stored answers differ."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

import msgspec
import pytest

from tests.helpers import evalcli, popen_evalcli, read_csv, result_lines, trial_dirs, wait_until

LIMIT = "5"  # items: 10 units (control + treatment)
UNITS = 10


def _profile(path: Path, *, seed: int = 7, treatment: str | None = None,
             options: dict | None = None, cache: dict | None = None) -> Path:
    prompts = "default"
    if treatment is not None:  # the default prompt set with another treatment prompt
        text = resources.files("evalcli.inputs").joinpath("data", "prompts", "default.toml") \
            .read_text(encoding="utf-8")
        data = msgspec.toml.decode(text)
        data["system"]["treatment"] = treatment
        prompts_file = path.with_suffix(".prompts.toml")
        prompts_file.write_bytes(msgspec.toml.encode(data))
        prompts = str(prompts_file)
    profile = {"engine": {"name": "mock", "workers": 2, "options": options or {}},
               "sampling": {"temperatures": [0.0], "samples_per_item": 1, "seed": seed},
               "prompts": {"set": prompts}, "cache": cache or {}}
    path.write_bytes(msgspec.toml.encode(profile))
    return path


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "store" / "answers.sqlite3"
    monkeypatch.setenv("EVALCLI_ANSWER_CACHE", str(path))
    return path


def _run(tmp_path: Path, profile: Path, run_id: str, *extra: str):
    result = evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                     tmp_path / "runs", "--run-id", run_id, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _rows(tmp_path: Path, run_id: str) -> dict[str, dict]:
    [trial] = trial_dirs(tmp_path / "runs" / run_id)
    rows = read_csv(trial / "predictions.csv")
    assert len(rows) == UNITS
    return {r["custom_id"]: r for r in rows}


def _manifest(tmp_path: Path, run_id: str) -> dict:
    return json.loads((tmp_path / "runs" / run_id / "run.json").read_text(encoding="utf-8"))


def _entries(store: Path) -> list[tuple]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT key, run_id, custom_id FROM answers").fetchall()


def test_second_run_reuses_every_answer_and_matches_a_fresh_run(tmp_path, store):
    profile = _profile(tmp_path / "p.toml")
    first = _run(tmp_path, profile, "first", "--reuse")
    assert f"reuse: 0 of {UNITS} answers reused; {UNITS} new answer(s) stored" in first.stdout
    second = _run(tmp_path, profile, "second", "--reuse")
    assert f"reuse: {UNITS} of {UNITS} answers reused from run first" in second.stdout
    fresh = _run(tmp_path, profile, "fresh")  # reuse off: the model answers every unit
    assert "reuse:" not in fresh.stdout
    reused, made = _rows(tmp_path, "second"), _rows(tmp_path, "fresh")
    assert {c: r["response_text"] for c, r in reused.items()} == \
        {c: r["response_text"] for c, r in made.items()}
    assert all(r["reused_from"] == f"first:{c}" for c, r in reused.items())
    assert all(r["reused_from"] == "" for r in made.values())
    assert all(r["latency_ms"] in ("0.0", "0") and r["started_at"] == "" for r in reused.values())
    assert _manifest(tmp_path, "second")["reuse"]["from_runs"] == {"first": UNITS}
    report = (tmp_path / "runs" / "second" / "report.md").read_text(encoding="utf-8")
    assert f"{UNITS} of {UNITS} answers reused from run first" in report
    assert "resource comparisons use fresh units only" in report
    assert len(_entries(store)) == UNITS


def test_a_changed_seed_reuses_nothing(tmp_path, store):
    _run(tmp_path, _profile(tmp_path / "a.toml", seed=7), "a", "--reuse")
    out = _run(tmp_path, _profile(tmp_path / "b.toml", seed=8), "b", "--reuse")
    assert f"reuse: 0 of {UNITS} answers reused" in out.stdout
    assert not any(r["reused_from"] for r in _rows(tmp_path, "b").values())


def test_a_changed_treatment_prompt_reuses_the_control_only(tmp_path, store):
    _run(tmp_path, _profile(tmp_path / "a.toml", treatment="Be brief."), "a", "--reuse")
    out = _run(tmp_path, _profile(tmp_path / "b.toml", treatment="Be very brief."), "b",
               "--reuse")
    assert f"reuse: {UNITS // 2} of {UNITS} answers reused from run a" in out.stdout
    rows = _rows(tmp_path, "b").values()
    assert {r["condition"] for r in rows if r["reused_from"]} == {"control"}
    assert not any(r["reused_from"] for r in rows if r["condition"] == "treatment")


def test_reuse_is_off_unless_asked_for(tmp_path, store):
    profile = _profile(tmp_path / "p.toml")
    _run(tmp_path, profile, "a", "--reuse")
    _run(tmp_path, profile, "b")
    assert not any(r["reused_from"] for r in _rows(tmp_path, "b").values())
    on = _run(tmp_path, _profile(tmp_path / "q.toml", cache={"reuse": True}), "c")
    assert f"reuse: {UNITS} of {UNITS} answers reused from run a" in on.stdout


def test_two_runs_at_once_store_each_answer_once(tmp_path, store):
    """Both runs hold their workers at a gate until each has recorded a unit: they run at
    once, both store the same answers, and each key is in the store once."""
    gate = tmp_path / "gate"
    profile = _profile(tmp_path / "p.toml", options={"gate_file": str(gate), "gate_after": 1})
    procs = [popen_evalcli("run", "--profile", profile, "--limit-items", LIMIT, "--runs-dir",
                           tmp_path / "runs", "--run-id", run_id, "--reuse")
             for run_id in ("x", "y")]
    try:
        for run_id in ("x", "y"):
            wait_until(lambda r=run_id: result_lines(tmp_path / "runs" / r) >= 1,
                       f"a result in run {run_id}")
        gate.write_text("go", encoding="utf-8")
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    entries = _entries(store)
    assert len(entries) == UNITS == len({key for key, _, _ in entries})
    stored = [_manifest(tmp_path, r)["reuse"]["stored"] for r in ("x", "y")]
    assert sum(stored) == UNITS  # each answer stored by exactly one of them


def test_a_store_cut_short_is_one_warning_and_the_run_goes_on(tmp_path, store):
    profile = _profile(tmp_path / "p.toml")
    _run(tmp_path, profile, "a", "--reuse")
    size = store.stat().st_size
    with open(store, "r+b") as fh:
        fh.truncate(size // 2)
    out = _run(tmp_path, profile, "b", "--reuse")
    warnings = [line for line in out.stdout.splitlines() if "answer store" in line]
    assert len(warnings) == 1 and "cut short" in warnings[0], out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    assert not any(r["reused_from"] for r in _rows(tmp_path, "b").values())
    assert _rows(tmp_path, "b").keys() == _rows(tmp_path, "a").keys()
    cleared = evalcli("cache", "clear")
    assert cleared.returncode == 0 and "removed" in cleared.stdout, cleared.stdout
    _run(tmp_path, profile, "c", "--reuse")
    assert len(_entries(store)) == UNITS


def test_a_failed_determinism_check_turns_reuse_off_for_the_model(tmp_path, store):
    profile = _profile(tmp_path / "p.toml")
    _run(tmp_path, profile, "a", "--reuse")
    with sqlite3.connect(store) as db:  # one stored answer is not what the model gives now
        key, custom_id = db.execute("SELECT key, custom_id FROM answers WHERE custom_id LIKE "
                                    "'%|control|%' ORDER BY custom_id LIMIT 1").fetchone()
        blob = msgspec.msgpack.encode({"text": "tampered", "finish_reason": "stop",
                                       "prompt_tokens": 1, "completion_tokens": 1})
        db.execute("UPDATE answers SET answer = ? WHERE key = ?", (blob, key))
    out = _run(tmp_path, profile, "b", "--reuse", "--check-determinism", str(UNITS))
    check = _manifest(tmp_path, "b")["determinism"]
    assert (check["checked"], check["identical"]) == (UNITS, UNITS - 1)
    [differ] = check["differing"]
    assert differ["custom_id"] == custom_id and differ["recorded"] == "tampered"
    assert differ["rerun"] != "tampered" and differ["reused_from"] == f"a:{custom_id}"
    assert check["reuse_turned_off"] == ["mock"]
    assert f"determinism check: {UNITS - 1} of {UNITS} re-run units identical" in out.stdout
    assert "reuse is now off for mock" in out.stdout
    report = (tmp_path / "runs" / "b" / "report.md").read_text(encoding="utf-8")
    assert "tampered" in report and custom_id.replace("|", "\\|") in report \
        or custom_id in report
    third = _run(tmp_path, profile, "c", "--reuse")
    assert "reuse: off for mock" in third.stdout
    assert not any(r["reused_from"] for r in _rows(tmp_path, "c").values())
    listing = evalcli("cache")
    assert "reuse off" in listing.stdout and f"{UNITS} answer(s)" in listing.stdout


def test_determinism_check_without_reuse_reports_k_of_k(tmp_path, store):
    out = _run(tmp_path, _profile(tmp_path / "p.toml"), "a", "--check-determinism", "4")
    assert "determinism check: 4 of 4 re-run units identical" in out.stdout
    check = _manifest(tmp_path, "a")["determinism"]
    assert (check["checked"], check["identical"], check["differing"]) == (4, 4, [])
    assert not store.exists()  # reuse off: the store is not touched


def test_cache_command_lists_and_clears(tmp_path, store):
    assert "empty" in evalcli("cache").stdout
    _run(tmp_path, _profile(tmp_path / "p.toml"), "a", "--reuse")
    listing = evalcli("cache")
    assert listing.returncode == 0 and f"{UNITS} answer(s)" in listing.stdout
    bad = evalcli("cache", "wipe")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:"), bad.stderr
    typo = evalcli("cache", "clear", "--model", "mokc")  # a typo deletes nothing, says so
    assert typo.returncode == 2 and "no such model" in typo.stderr and "mock" in typo.stderr
    assert typo.stderr.count("\n") == 1, typo.stderr
    cleared = evalcli("cache", "clear", "--model", "mock")
    assert f"{UNITS} answer(s) of mock deleted" in cleared.stdout
    assert _entries(store) == []


def test_resume_with_reuse_takes_the_missing_units_from_the_store(tmp_path, store):
    profile = _profile(tmp_path / "p.toml")
    _run(tmp_path, profile, "a", "--reuse")
    _run(tmp_path, profile, "b")  # reuse off: every unit ran
    [trial] = trial_dirs(tmp_path / "runs" / "b")
    results = trial / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:4]))  # as if the run had stopped after 4 units
    out = evalcli("resume", "b", "--runs-dir", tmp_path / "runs", "--reuse")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"reuse: {UNITS - 4} of {UNITS} answers reused from run a" in out.stdout
    rows = _rows(tmp_path, "b")
    assert sum(bool(r["reused_from"]) for r in rows.values()) == UNITS - 4
    assert _manifest(tmp_path, "b")["config"]["cache"]["reuse"] is False  # snapshot unchanged
