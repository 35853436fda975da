"""A sweep: prompt sets × temperatures × samples per item, with the shared control run once."""

from __future__ import annotations

import json
from importlib import resources

from tests.helpers import evalcli, read_csv, write_profile


def test_prompt_set_and_temperature_sweep(tmp_path):
    default = resources.files("evalcli.inputs").joinpath("data/prompts/default.toml").read_text("utf-8")
    (tmp_path / "terse.toml").write_text(default.replace(
        'treatment = """', 'terse = """Answer in as few words as you can.\n"""\ntreatment = """',
        1), encoding="utf-8")
    profile = write_profile(tmp_path / "p.toml", workers=2,
                            sampling={"temperatures": [0.0, 0.7], "samples_per_item": 2})
    profile.write_text(profile.read_text().replace('set = "default"',
                                                   'set = ["default", "terse.toml"]'))
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "3", "--runs-dir", runs,
                     "--run-id", "s")
    assert result.returncode == 0, result.stderr
    # the header's arithmetic adds up: the shared control units are said, not hidden
    manifest = json.loads((runs / "s" / "run.json").read_text(encoding="utf-8"))
    units, shared = manifest["plan"]["units"], manifest["plan"]["shared_units"]
    assert shared > 0
    # (the prompt sets have 2 and 3 conditions: no product that would not add up)
    assert (f"{units} units (3 items x 2 samples x the conditions of each of 4 trials (3 in all) = "
            f"{units + shared} answers; {shared} shared with an earlier trial, run once)"
            ) in result.stdout, result.stdout
    trials = manifest["trials"]
    assert len(trials) == 4  # 2 prompt sets x 2 temperatures
    by_set = {}
    for slug, state in trials.items():
        by_set.setdefault(state["params"]["prompt_set"], []).append((slug, state))
    # default: 3 items x 2 conditions x 2 samples per temperature, all run
    assert all(s["planned"] == 12 and s["shared"] == 0 for _, s in by_set["default"])
    # terse: control and treatment are the default set's requests: only "terse" runs
    assert all(s["planned"] == 6 and s["shared"] == 12 for _, s in by_set["terse"])
    results_lines = sum(len((runs / "s" / "trials" / slug / "results.jsonl").read_text()
                            .splitlines()) for slug in trials)
    assert results_lines == 2 * 12 + 2 * 6  # nothing ran twice
    for slug, _ in by_set["terse"]:
        rows = read_csv(runs / "s" / "trials" / slug / "predictions.csv")
        assert len(rows) == 18 and all(r["status"] == "ok" for r in rows)
        assert {r["condition"] for r in rows} == {"control", "treatment", "terse"}
    report = (runs / "s" / "report.md").read_text(encoding="utf-8")
    assert "terse: open-book, T=0.7" in report and "default: closed-book, T=0" in report


def _events(run_root):
    return [json.loads(line) for line in
            (run_root / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def test_sampling_sweep_loads_the_model_once_per_worker(tmp_path):
    """Two temperatures × two top_p values: four trials, each worker loads its model once."""
    profile = write_profile(tmp_path / "p.toml", workers=2,
                            sampling={"temperatures": [0.0, 0.7], "top_p": [0.9, 1.0]})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "4", "--runs-dir", runs,
                     "--run-id", "s")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((runs / "s" / "run.json").read_text(encoding="utf-8"))
    params = {slug: (s["params"]["temperature"], s["params"]["top_p"])
              for slug, s in manifest["trials"].items()}
    assert sorted(params.values()) == [(0.0, 0.9), (0.0, 1.0), (0.7, 0.9), (0.7, 1.0)]
    assert all({0.9: "-p09-", 1.0: "-p10-"}[p] in slug for slug, (_, p) in params.items())
    units = manifest["plan"]["items"] * 2
    assert all(s["planned"] == units and s["shared"] == 0 for s in manifest["trials"].values())
    events = _events(runs / "s")
    # one process start (= one model load) per worker; a worker may finish loading after
    # the other has run every unit, so "ready" is at most once per worker
    starts = [e["worker"] for e in events if e["event"] == "worker_start"]
    ready = [e["worker"] for e in events if e["event"] == "worker_ready"]
    assert sorted(starts) == [0, 1]
    assert ready and len(ready) == len(set(ready))
    assert not [e for e in events if e["event"] == "worker_switch"]
    # the worker logs agree: each names one process start
    for log in (runs / "s" / "logs").glob("worker-*.log"):
        assert log.read_text(encoding="utf-8").count(" engine mock") == 1
    report = (runs / "s" / "report.md").read_text(encoding="utf-8")
    assert "## Per-trial matrix" in report and "| T | top_p | type |" in report


def test_model_sweep_keeps_a_model_per_worker_until_its_work_is_done(tmp_path):
    """Two models (engine.variants): every unit of a model runs on a worker holding that
    model, a worker never loads the same model twice, and the shared-control rule holds
    within a model only (another model's control is another request)."""
    profile = write_profile(tmp_path / "p.toml", workers=2)
    text = profile.read_text(encoding="utf-8")
    profile.write_text(text + '\n[[engine.variants]]\nmodel = "m-one"\naccuracy = 1.0\n'
                       'abstain_rate = 0.0\n[[engine.variants]]\nmodel = "m-two"\n'
                       'accuracy = 0.0\nabstain_rate = 0.0\n', encoding="utf-8")
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "4", "--runs-dir", runs,
                     "--run-id", "m")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((runs / "m" / "run.json").read_text(encoding="utf-8"))
    slugs = list(manifest["trials"])
    assert [s.split("-default-")[0] for s in slugs] == ["m-one", "m-two"]
    assert manifest["plan"]["models"] == ["m-one", "m-two"]
    events = _events(runs / "m")
    loads = [(e["worker"], e["variant"]) for e in events if e["event"] == "worker_start"]
    assert len(loads) == len(set(loads)), loads  # no (worker, model) loaded twice
    # every unit ran on a worker holding its trial's model: m-one always answers from the
    # answer key, m-two never does
    items = manifest["plan"]["items"]
    one, two = ([json.loads(line)["text"] for line in
                 (runs / "m" / "trials" / slug / "results.jsonl").read_text().splitlines()]
                for slug in slugs)
    assert len(one) == len(two) == items * 2
    assert "a wrong answer" not in one and set(two) == {"a wrong answer"}
    assert all(s["shared"] == 0 for s in manifest["trials"].values())
    report = (runs / "m" / "report.md").read_text(encoding="utf-8")
    assert "| model | type | EM control | EM treatment |" in report
