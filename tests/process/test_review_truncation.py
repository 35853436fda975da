"""What the refusal detector did not decide, and answers cut at max_tokens, shown in the
report; a refusal wording added later re-scores the run without running the model."""

from __future__ import annotations

import json

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile


def _run(tmp_path, name: str, **sampling) -> tuple:
    profile = write_profile(tmp_path / f"{name}.toml", workers=1,
                            options={"accuracy": 0.5, "abstain_rate": 0.0},
                            sampling={"temperatures": [0.0], "samples_per_item": 1, **sampling})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "40", "--runs-dir", runs,
                     "--run-id", name)
    assert result.returncode == 0, result.stderr
    return runs, runs / name


def test_short_answers_to_unanswerable_items_are_listed_and_a_phrase_rescores(tmp_path):
    runs, root = _run(tmp_path, "r")
    [trial] = trial_dirs(root)
    review = json.loads((trial / "review.json").read_text(encoding="utf-8"))
    arms = review["arms"]
    assert set(arms) == {"control", "treatment"}
    wrong = sum(a["answers_on_unanswerable"] for a in arms.values())
    assert wrong > 0 and all(s["text"] == "a wrong answer" for a in arms.values()
                             for s in a["short"])
    report = (root / "report.md").read_text(encoding="utf-8")
    assert "**Answers to review**" in report and "`a wrong answer` ×" in report
    assert '--abstain-phrase "…"' in report
    before = read_csv(trial / "per_item_scores.csv")
    results_before = (trial / "results.jsonl").read_bytes()

    # the user decides "A wrong answer." is a refusal: re-scored, the model not run again
    result = evalcli("resume", "r", "--runs-dir", runs, "--from", "score",
                     "--abstain-phrase", "A wrong answer.")
    assert result.returncode == 0, result.stderr
    assert (trial / "results.jsonl").read_bytes() == results_before
    after = read_csv(trial / "per_item_scores.csv")
    unanswerable = [r for r in after if r["answerable"] == "False"]
    assert unanswerable and all(float(r["abstain_rate"]) == 1.0 for r in unanswerable
                                if int(r["n_samples"]))
    assert sum(float(r["abstain_rate"] or 0) for r in after) > \
        sum(float(r["abstain_rate"] or 0) for r in before)
    manifest = json.loads((root / "run.json").read_text(encoding="utf-8"))
    assert manifest["config"]["scoring"]["abstain_phrases"] == ["A wrong answer."]
    events = [json.loads(line) for line in (root / "events.jsonl").read_text("utf-8").splitlines()]
    assert {"event": "scoring_changed", "abstain_phrases_added": ["A wrong answer."]} in [
        {k: v for k, v in e.items() if k != "at"} for e in events]
    assert "Answers to review" not in (root / "report.md").read_text(encoding="utf-8")
    # the same phrase again changes nothing and says so
    again = evalcli("resume", "r", "--runs-dir", runs, "--from", "score",
                    "--abstain-phrase", "A wrong answer.")
    assert again.returncode == 0 and "nothing new" in again.stdout


def test_answers_cut_at_max_tokens_are_counted_and_warned_about(tmp_path):
    # "a wrong answer" is 3 words: with max_tokens 2 the mock cuts it (finish_reason "length")
    _, root = _run(tmp_path, "t", max_tokens={"open": 2, "closed": 2})
    [trial] = trial_dirs(root)
    predictions = read_csv(trial / "predictions.csv")
    cut = sum(r["finish_reason"] == "length" for r in predictions)
    assert cut > 0
    scores = read_csv(trial / "per_item_scores.csv")
    assert sum(int(r["n_truncated"]) for r in scores) == cut
    report = (root / "report.md").read_text(encoding="utf-8")
    verdict = report.split("## Setup")[0]
    assert "answers stopped at max_tokens" in verdict
    assert "| stopped at max_tokens |" in report
