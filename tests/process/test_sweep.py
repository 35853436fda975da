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
    manifest = json.loads((runs / "s" / "run.json").read_text(encoding="utf-8"))
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
