"""`evalcli analyze` end to end: the predecessor's predictions.csv and prepared items, one of
our runs' files (same numbers as the run), no engine imported, one-line errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import evalcli, trial_dirs

PREDECESSOR_COLUMNS = ["custom_id", "dataset", "item_id", "condition", "temp", "sample_index",
                       "type", "request_id", "finish_reason", "response_text", "prompt_tokens",
                       "completion_tokens", "total_tokens"]
OUTPUTS = ["per_item_scores.csv", "significance.json", "costs.json", "report.md", "report.html"]


def write_predecessor_files(root: Path) -> tuple[Path, Path, Path]:
    """open_book.jsonl, closed_book.jsonl and a 13-column predictions.csv as the original
    tool wrote them (temp "0.0", failures as finish_reason "error")."""
    open_rows, closed_rows, preds = [], [], []
    for i in range(10):
        unanswerable = i % 5 == 4
        open_rows.append({"dataset": "squad_v2", "id": f"sq{i}", "context":
                          f"The river Ossel{i} runs past the town of Harrow{i}.",
                          "question": f"Which town does the river Ossel{i} pass?",
                          "answers": [] if unanswerable else [f"Harrow{i}"],
                          "is_unanswerable": unanswerable})
    for ds in ("triviaqa", "nq_open"):
        for i in range(8):
            closed_rows.append({"dataset": ds, "id": f"{ds[:2]}{i}",
                                "question": f"What is the capital of land {ds} {i}?",
                                "answers": [f"City{i}", f"city {i}"]})
    for condition in ("control", "treatment"):
        for n, item in enumerate(open_rows + closed_rows):
            kind = "open" if "context" in item else "closed"
            if not item["answers"]:
                text = "I don't know." if condition == "treatment" else "Harrow"
            else:
                right = n % 3 != 0 if condition == "treatment" else n % 2 == 0
                text = item["answers"][0] if right else "Somewhere else"
            failed = condition == "control" and n == 1
            preds.append([f"{item['dataset']}|{item['id']}|{condition}|0.0|0|{kind}",
                          item["dataset"], item["id"], condition, "0.0", "0", kind, f"req-{n}",
                          "error" if failed else "stop", "" if failed else text,
                          "" if failed else 90 + n, "" if failed else 3,
                          "" if failed else 93 + n])
    ob, cb, pr = root / "open_book.jsonl", root / "closed_book.jsonl", root / "predictions.csv"
    ob.write_text("".join(json.dumps(r) + "\n" for r in open_rows), encoding="utf-8")
    cb.write_text("".join(json.dumps(r) + "\n" for r in closed_rows), encoding="utf-8")
    with open(pr, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(PREDECESSOR_COLUMNS)
        writer.writerows(preds)
    return pr, ob, cb


def test_predecessor_files(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    out = tmp_path / "out"
    proc = evalcli("analyze", pred, "--items", ob, "--items", cb, "--out", out)
    assert proc.returncode == 0, proc.stderr
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    sig = json.loads((out / "significance.json").read_text(encoding="utf-8"))
    assert sig["settings"]["control"] == "control" and sig["types"] == ["closed", "open"]
    datasets = {c["dataset"] for c in sig["comparisons"] if c["type"] == "closed"}
    assert datasets == {"all", "triviaqa", "nq_open"}  # two closed-book datasets: subgroups
    open_all = next(c for c in sig["comparisons"] if c["type"] == "open" and c["dataset"] == "all")
    assert open_all["clustered"] is False and "false_answer_rate" in open_all["metrics"]
    costs = json.loads((out / "costs.json").read_text(encoding="utf-8"))
    assert costs["arms"]["control"]["failed"] == 1 and costs["arms"]["treatment"]["failed"] == 0
    assert costs["arms"]["control"]["latency_ms"] is None  # the predecessor kept no latency
    assert costs["pricing"] is None
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.index("## Verdict") < report.index("## Discordant items")
    assert "Which town does the river Ossel" in report and "Somewhere else" in report
    assert "**1 unit(s) failed**" in report
    assert "<svg" in (out / "report.html").read_text(encoding="utf-8")


def test_one_of_our_runs_gives_the_runs_numbers(tmp_path):
    proc = evalcli("run", "--profile", "mock", "--runs-dir", tmp_path / "runs", "--run-id", "r1",
                   "--limit-items", "30", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "runs" / "r1"
    trial = trial_dirs(run)[0]
    out = tmp_path / "out"
    proc = evalcli("analyze", trial / "predictions.csv", "--items", run / "items.jsonl",
                   "--out", out, "--profile", "mock", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "significance.json").read_bytes()) == \
        json.loads((trial / "significance.json").read_bytes())
    assert (out / "per_item_scores.csv").read_text(encoding="utf-8") == \
        (trial / "per_item_scores.csv").read_text(encoding="utf-8")
    # another control: the comparison turns around
    proc = evalcli("analyze", trial / "predictions.csv", "--items", run / "items.jsonl",
                   "--out", tmp_path / "out2", "--control", "treatment", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sig = json.loads((tmp_path / "out2" / "significance.json").read_bytes())
    assert sig["settings"]["control"] == "treatment" and sig["settings"]["treatments"] == ["control"]


def test_analysis_imports_no_engine_and_no_ipc(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    code = (
        "import sys\n"
        "from evalcli.analysis.analyze import analyze\n"
        f"analyze({str(pred)!r}, [{str(ob)!r}, {str(cb)!r}], {str(tmp_path / 'out')!r})\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = set(proc.stdout.split())
    assert not {m for m in modules if m == "ipc" or m.startswith("ipc.")}
    # `engines` and `engines.base` (plain msgspec structs, no engine) come in through
    # evalcli.run.plan's custom_id parser; no engine implementation, no engine library does
    engine_modules = {m for m in modules if m.startswith("engines.")} - {"engines.base"}
    assert not engine_modules
    assert not modules & {"llama_cpp", "httpx", "pynvml", "rich.live", "typer"}
    assert (tmp_path / "out" / "report.html").exists()


@pytest.mark.parametrize("case, message", [
    ("control", "no condition named 'control' — pass --control NAME"),
    ("items", "unknown item format"),
    ("missing", "is not in the items file"),
    ("custom_id", "does not have 6 '|'-separated fields"),
])
def test_errors_are_one_line(tmp_path, case, message):
    pred, ob, cb = write_predecessor_files(tmp_path)
    items = [ob, cb]
    if case == "control":
        pred.write_text(pred.read_text(encoding="utf-8").replace("control", "baseline"),
                        encoding="utf-8")
    elif case == "items":
        (tmp_path / "bad.jsonl").write_text('{"q": 1}\n', encoding="utf-8")
        items = [tmp_path / "bad.jsonl"]
    elif case == "missing":
        items = [ob]
    else:
        lines = pred.read_text(encoding="utf-8").splitlines()
        lines[3] = "broken-id" + lines[3][lines[3].index(","):]
        pred.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["analyze", pred, *[a for p in items for a in ("--items", p)], "--out", tmp_path / "o"]
    proc = evalcli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr


def _rewrite(pred: Path, edit) -> None:
    """Rewrite predictions.csv row by row: edit(header, row) -> row (or None to drop)."""
    with open(pred, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    out = [r for r in (edit(header, list(r)) for r in body) if r is not None]
    with open(pred, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(out)


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_duplicate_custom_id_is_refused_naming_both_rows(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    with open(pred, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows.append(rows[5])  # file line 6 again, as the last line
    with open(pred, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    line = _one_error_line(evalcli("analyze", pred, "--items", ob, "--items", cb, "--out",
                                   tmp_path / "o"))
    assert f"lines 6 and {len(rows)}" in line and rows[5][0] in line and "twice" in line


def test_missing_required_column_names_column_and_file(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    _rewrite(pred, lambda header, row: row)
    text = pred.read_text(encoding="utf-8").replace(",condition,", ",cond,", 1)
    pred.write_text(text, encoding="utf-8")
    line = _one_error_line(evalcli("analyze", pred, "--items", ob, "--items", cb, "--out",
                                   tmp_path / "o"))
    assert "'condition'" in line and str(pred) in line


def test_empty_answer_on_unanswerable_item_scores_zero_and_is_flagged(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    long_answer = "Harrow " * 30000  # > 131,072 characters: the csv module's default limit

    def edit(header, row):
        cid = row[0]
        if cid.startswith("squad_v2|sq4|control"):
            row[header.index("response_text")] = ""  # unanswerable item, empty answer
        if cid.startswith("squad_v2|sq9|treatment") or cid.startswith("triviaqa|tr1|treatment"):
            row[header.index("response_text")] = "   "  # 2 of 26 treatment answers: ≈ 8%
        if cid.startswith("squad_v2|sq0|treatment"):
            row[header.index("response_text")] = long_answer
        return row

    _rewrite(pred, edit)
    proc = evalcli("analyze", pred, "--items", ob, "--items", cb, "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "o" / "per_item_scores.csv", encoding="utf-8", newline="") as fh:
        rows = {(r["item_id"], r["condition"]): r for r in csv.DictReader(fh)}
    for key in (("sq4", "control"), ("sq9", "treatment")):
        row = rows[key]
        assert (float(row["em"]), float(row["f1"]), float(row["abstain_rate"])) == (0, 0, 0)
        assert row["n_empty"] == "1"
    assert float(rows[("sq4", "control")]["false_answer_rate"]) == 0.0
    report = (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    verdict = report.split("## Setup")[0]
    assert "Warning" in verdict and "of `treatment` answers are empty" in verdict


def test_missing_token_columns_are_unknown_not_zero(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    with open(pred, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    keep = [i for i, name in enumerate(rows[0]) if "tokens" not in name and name != "finish_reason"]
    with open(pred, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([[r[i] for i in keep] for r in rows])
    proc = evalcli("analyze", pred, "--items", ob, "--items", cb, "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    costs = json.loads((tmp_path / "o" / "costs.json").read_bytes())
    arm = costs["arms"]["control"]
    # no finish_reason column: every row is an answer (the failed row is not recognisable)
    assert arm["units"] == arm["units_without_token_counts"] == 26
    assert arm["mean_prompt_tokens"] is None


def test_arms_refusing_in_different_words_do_not_differ_in_abstention(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    words = {"control": "Sorry, I don't know.", "treatment": "The passage doesn't say."}

    def edit(header, row):
        if row[0].startswith(("squad_v2|sq4|", "squad_v2|sq9|")):  # the unanswerable items
            row[header.index("response_text")] = words[row[header.index("condition")]]
        return row

    _rewrite(pred, edit)
    proc = evalcli("analyze", pred, "--items", ob, "--items", cb, "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    sig = json.loads((tmp_path / "o" / "significance.json").read_bytes())
    comp = next(c for c in sig["comparisons"] if c["type"] == "open" and c["dataset"] == "all")
    assert comp["metrics"]["false_answer_rate"]["delta"] == 0.0
    assert comp["metrics"]["false_answer_rate"]["control_mean"] == 0.0
    # abstentions: only the unanswerable items, in both arms
    assert comp["metrics"]["abstain_rate"]["delta"] == 0.0


def test_null_result_report_shows_tost_and_mde(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    answers, seen = {}, []

    def edit(header, row):  # the treatment answers as the control did, but on every 4th item
        cid, text = row[0], row[header.index("response_text")]  # it keeps its own answer, so
        key = cid.replace("|treatment|", "|control|")  # the paired differences vary (a null
        if "|control|" in cid:  # with no spread at all claims neither TOST nor an MDE)
            answers[cid] = (text, row[header.index("finish_reason")])
        elif key in answers:
            seen.append(cid)
            if len(seen) % 4:
                row[header.index("response_text")], row[header.index("finish_reason")] = \
                    answers[key]
        return row

    _rewrite(pred, edit)
    proc = evalcli("analyze", pred, "--items", ob, "--items", cb, "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    verdict = (tmp_path / "o" / "report.md").read_text(encoding="utf-8").split("## Setup")[0]
    assert "no detectable difference" in verdict
    assert "equivalent within ±2.0 points" in verdict.lower()
    assert "could miss effects smaller than" in verdict
    html_page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "could miss effects smaller than" in html_page


def test_prompts_option_flags_answers_that_echo_the_system_prompt(tmp_path):
    pred, ob, cb = write_predecessor_files(tmp_path)
    prompts = tmp_path / "set.toml"
    prompts.write_text(
        'control = "control"\n[system]\ncontrol = "You are a helpful assistant. Be brief."\n'
        'treatment = "You are careful. Answer from the passage."\n'
        '[instructions]\nopen = "Answer from the passage."\nclosed = "Answer briefly."\n',
        encoding="utf-8")

    def edit(header, row):
        if "|control|" in row[0] and row[0].startswith("triviaqa"):
            row[header.index("response_text")] = "You are a helpful assistant."
        return row

    _rewrite(pred, edit)
    proc = evalcli("analyze", pred, "--items", ob, "--items", cb, "--out", tmp_path / "o",
                   "--prompts", prompts)
    assert proc.returncode == 0, proc.stderr
    verdict = (tmp_path / "o" / "report.md").read_text(encoding="utf-8").split("## Setup")[0]
    assert "of `control` answers repeat the prompt" in verdict
