"""Token counts are in results.jsonl from the moment a unit finishes, and the parse stage
takes them from there alone: a real run with failed units, and the resume of a run directory
written before counts were recorded at the finish (its missing counts stay unknown)."""

from __future__ import annotations

import json

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile


def _run(tmp_path, run_id: str):
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"fail_on": ["cb-"]},
                            run={"max_consecutive_failures": 0})
    result = evalcli("run", "--profile", profile, "--limit-items", "4", "--runs-dir",
                     tmp_path / "runs", "--run-id", run_id,
                     env={"TIKTOKEN_CACHE_DIR": str(tmp_path / "no-vocabulary")})
    assert result.returncode == 5, result.stderr[-2000:]  # finished, with failed units
    [trial] = trial_dirs(tmp_path / "runs" / run_id)
    return trial


def _lines(trial) -> list[dict]:
    return [json.loads(x) for x in (trial / "results.jsonl").read_text("utf-8").splitlines()]


def test_a_failed_units_prompt_is_counted_when_it_finishes_and_parse_copies_it(tmp_path):
    trial = _run(tmp_path, "r")
    lines = _lines(trial)
    failed = [x for x in lines if x["status"] == "failed"]
    ok = [x for x in lines if x["status"] == "ok"]
    assert failed and ok
    # the mock engine counts its answers (source engine: left out of the line); a failed
    # unit's prompt is counted as sent, its answer 0 tokens, with the counter's name
    assert all("tokens_source" not in x and x["prompt_tokens"] > 0 for x in ok)
    assert all(x["tokens_source"] == "estimate" and x["prompt_tokens"] > 0
               and x.get("completion_tokens", 0) == 0 for x in failed)
    rows = {r["custom_id"]: r for r in read_csv(trial / "predictions.csv")}
    for line in lines:
        row = rows[line["custom_id"]]
        assert (int(row["prompt_tokens"]), int(row["completion_tokens"]),
                row["tokens_source"]) == (line["prompt_tokens"], line.get("completion_tokens", 0),
                                          line.get("tokens_source", "engine"))
    costs = json.loads((trial / "costs.json").read_text("utf-8"))
    assert costs["total"]["units_without_token_counts"] == 0


def test_resuming_a_run_written_before_counts_were_recorded_keeps_them_unknown(tmp_path):
    trial = _run(tmp_path, "old")
    lines = _lines(trial)
    # rewrite the file as an older evalcli wrote it: a failed unit without counts, an answer
    # from an engine that reported none (-1); and drop one answer, so resume has a unit to run
    [fail_idx] = [i for i, x in enumerate(lines) if x["status"] == "failed"][:1]
    ok_idx = [i for i, x in enumerate(lines) if x["status"] == "ok"]
    old_failed = {k: v for k, v in lines[fail_idx].items()
                  if k not in ("prompt_tokens", "completion_tokens", "tokens_source")}
    old_ok = {**lines[ok_idx[0]], "prompt_tokens": -1, "completion_tokens": -1}
    dropped = lines[ok_idx[1]]["custom_id"]
    kept = [x for i, x in enumerate(lines) if i not in (fail_idx, ok_idx[0], ok_idx[1])]
    (trial / "results.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in [old_ok, old_failed, *kept]), encoding="utf-8")
    env = {"TIKTOKEN_CACHE_DIR": str(tmp_path / "no-vocabulary")}
    # the later stages alone: the old records are read as they are, nothing is counted now
    result = evalcli("resume", "old", "--from", "parse", "--runs-dir", tmp_path / "runs",
                     env=env)
    assert result.returncode in (0, 5), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    rows = {r["custom_id"]: r for r in read_csv(trial / "predictions.csv")}
    for custom_id in (old_ok["custom_id"], old_failed["custom_id"]):
        assert (rows[custom_id]["prompt_tokens"], rows[custom_id]["completion_tokens"],
                rows[custom_id]["total_tokens"], rows[custom_id]["tokens_source"]) == \
            ("-1", "-1", "-1", "not_recorded")
    assert rows[dropped]["status"] == "pending"
    costs = json.loads((trial / "costs.json").read_text("utf-8"))
    assert costs["total"]["units_without_token_counts"] == 2
    assert "not_recorded" not in costs["total"]["tokens_source"]  # only counted units

    # a whole resume runs the dropped unit and the failed one again (it fails again, now
    # with its counts); the old answer without counts stays unknown
    result = evalcli("resume", "old", "--runs-dir", tmp_path / "runs", env=env)
    assert result.returncode == 5, result.stderr[-2000:]
    rows = {r["custom_id"]: r for r in read_csv(trial / "predictions.csv")}
    assert rows[old_ok["custom_id"]]["tokens_source"] == "not_recorded"
    assert rows[dropped]["status"] == "ok" and rows[dropped]["tokens_source"] == "engine"
    retried = rows[old_failed["custom_id"]]
    assert retried["status"] == "failed" and retried["tokens_source"] == "estimate"
    assert int(retried["prompt_tokens"]) > 0
    costs = json.loads((trial / "costs.json").read_text("utf-8"))
    assert costs["total"]["units_without_token_counts"] == 1
