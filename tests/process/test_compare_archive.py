"""compare, archive and verify on real dry runs (the mock engine through the real CLI)."""

from __future__ import annotations

import json
import shutil
import zipfile
from importlib import resources

import pytest

from tests.helpers import evalcli, write_profile


def _prompt_set(tmp_path):
    default = resources.files("evalcli.inputs").joinpath("data/prompts/default.toml").read_text(
        "utf-8")
    path = tmp_path / "terse.toml"
    path.write_text(default.replace('treatment = """',
                                    'treatment = """Answer in as few words as you can.\n', 1),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two real dry runs on the sample items: the default prompt set, and a changed one."""
    tmp = tmp_path_factory.mktemp("cmp")
    runs = tmp / "runs"
    first = write_profile(tmp / "a.toml", options={"model": "model-a"})
    second = write_profile(tmp / "b.toml", options={"model": "model-b", "accuracy": 0.4})
    terse = _prompt_set(tmp)
    second.write_text(second.read_text(encoding="utf-8").replace(
        'set = "default"', f'set = "{terse.name}"'), encoding="utf-8")
    for profile, run_id in ((first, "a"), (second, "b")):
        result = evalcli("run", "--profile", profile, "--limit-items", "20", "--runs-dir", runs,
                         "--run-id", run_id)
        assert result.returncode == 0, result.stderr
    return tmp, runs


def test_compare_two_runs_with_different_prompt_sets_and_models(two_runs):
    tmp, runs = two_runs
    out = tmp / "cmp"
    result = evalcli("compare", "a", "b", "--runs-dir", runs, "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["model"] for r in data["runs"]] == ["model-a", "model-b"]
    assert [r["prompt_sets"] for r in data["runs"]] == [["default"], ["terse"]]
    items = json.loads((runs / "a" / "run.json").read_text(encoding="utf-8"))["inputs"]["items"]
    assert data["items"][0]["shared"] == items and data["items"][0]["changed"] == 0
    assert {(p["a"], p["b"]) for p in data["pairs"]} == {("a:control", "b:control"),
                                                         ("a:treatment", "b:treatment")}
    # the paired statistics of the run report: per pair × type, with McNemar, TOST and MDE
    family = [m for c in data["comparisons"] if c["dataset"] == "all"
              for m in c["metrics"].values()]
    assert data["settings"]["family_size"] == len(family) > 4
    for comp in data["comparisons"]:
        assert {"b", "c", "p_value"} <= set(comp["mcnemar"])
        em = comp["metrics"]["em"]
        assert em["q_value"] >= em["p_value"] and em["in_family"]
        assert em["tost"]["margin"] == 0.02 and "mde" in em["power"]
    # model-b answers right less often (accuracy 0.4 vs 0.7): its EM deltas lean negative
    deltas = [c["metrics"]["em"]["delta"] for c in data["comparisons"]]
    assert sum(deltas) < 0
    matrix = {(m["cell"], m["type"]) for m in data["matrix"]}
    assert ("a:control", "open") in matrix and ("b:treatment", "closed") in matrix
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "## Matrix" in md and "McNemar" in md and "`b:treatment` − `a:treatment`" in md
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "<script" not in page and "http" not in page.split(
        "<svg", 1)[0].replace("http://www.w3.org", "")


def test_compare_excludes_changed_questions_and_refuses_disjoint_runs(two_runs, tmp_path):
    _, runs = two_runs
    copy = tmp_path / "runs"
    shutil.copytree(runs / "b", copy / "b")
    items = copy / "b" / "items.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["question"] += " (reworded)"
    lines[0] = json.dumps(first)
    items.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = evalcli("compare", str(runs / "a"), str(copy / "b"), "--json", "--out",
                     tmp_path / "out")
    assert result.returncode == 0, result.stderr
    overlap = json.loads(result.stdout)["items"][0]
    assert overlap["changed"] == 1 and overlap["changed_items"] == [
        f"{first['dataset']}|{first['item_id']}"]
    assert overlap["shared"] == len(lines) - 1
    # every item changed: nothing is shared, one line and exit 2
    items.write_text("".join(json.dumps({**json.loads(line), "question": "other"}) + "\n"
                             for line in lines), encoding="utf-8")
    result = evalcli("compare", str(runs / "a"), str(copy / "b"), "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.startswith("error: runs a and b share no items")
    assert len(result.stderr.strip().splitlines()) == 1


def test_archive_round_trip_and_tamper(two_runs, tmp_path):
    _, runs = two_runs
    archive = tmp_path / "a.zip"
    result = evalcli("archive", "a", "--runs-dir", runs, "--out", archive)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("a/archive-manifest.json"))
    for name in ("run.json", "items.jsonl", "events.jsonl", "report.md", "report.html"):
        assert f"a/{name}" in names
    assert any(n.startswith("a/logs/worker-") for n in names)
    assert "a/run.lock" not in names
    slug = next((runs / "a" / "trials").iterdir()).name
    for name in ("results.jsonl", "predictions.csv", "per_item_scores.csv", "significance.json",
                 "costs.json"):
        assert f"trials/{slug}/{name}" in manifest["files"]
    assert evalcli("verify", archive).returncode == 0
    shown = evalcli("show", archive, "--json")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["status"] == "completed" and summary["archive"] == str(archive.resolve())
    direct = json.loads(evalcli("show", "a", "--runs-dir", runs, "--json").stdout)
    assert (summary["done"], summary["planned"]) == (direct["done"], direct["planned"])
    # compare reads an archive directly and gets the same numbers as from the folder
    from_zip = json.loads(evalcli("compare", archive, "b", "--runs-dir", runs, "--json",
                                  "--out", tmp_path / "z").stdout)
    from_dir = json.loads(evalcli("compare", "a", "b", "--runs-dir", runs, "--json",
                                  "--out", tmp_path / "d").stdout)
    assert from_zip["comparisons"] == from_dir["comparisons"]
    # tamper: one changed byte in a member (re-zipped, so the CRC is right) fails verify
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("predictions.csv"):
                data = data.replace(b",ok,", b",failed,", 1)
            dst.writestr(info, data)
    result = evalcli("verify", tampered)
    assert result.returncode == 4
    assert "predictions.csv: sha256 differs from the manifest" in result.stdout
    assert evalcli("show", tampered).returncode == 4
    refused = evalcli("compare", tampered, "b", "--runs-dir", runs, "--out", tmp_path / "t")
    assert refused.returncode == 4 and "fails verification" in refused.stderr
    # an added file fails too
    added = tmp_path / "added.zip"
    shutil.copy(archive, added)
    with zipfile.ZipFile(added, "a") as zf:
        zf.writestr("a/extra.txt", "x")
    assert "extra.txt: not in the manifest" in evalcli("verify", added).stdout


def test_archive_refuses_a_running_run_and_keeps_secrets_out(two_runs, tmp_path):
    from evalcli.store.archive import create_archive
    from evalcli.store.lock import RunLock
    from evalcli.store.rundir import RunDir

    _, runs = two_runs
    copy = tmp_path / "runs"
    shutil.copytree(runs / "a", copy / "a")
    run_json = copy / "a" / "run.json"
    data = json.loads(run_json.read_text(encoding="utf-8"))
    data["config"]["engine"]["options"].update(
        api_key_env="EVALCLI_TEST_KEY", base_url="http://user:hunter2pass@127.0.0.1:1/v1",
        api_key="sk-inline-secret")
    run_json.write_text(json.dumps(data), encoding="utf-8")
    (copy / "a" / "logs" / "worker-0.log").write_text("auth with s3cr3t-value-xyz\n",
                                                     encoding="utf-8")
    rd = RunDir(copy, "a")
    with RunLock(rd.lock_file):
        with pytest.raises(Exception, match="is running"):
            create_archive(rd, tmp_path / "x.zip")
    import os
    os.environ["EVALCLI_TEST_KEY"] = "s3cr3t-value-xyz"
    try:
        manifest = create_archive(rd, tmp_path / "x.zip")
    finally:
        del os.environ["EVALCLI_TEST_KEY"]
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist())
    for secret in (b"hunter2pass", b"sk-inline-secret", b"s3cr3t-value-xyz"):
        assert secret not in blob
    assert b"EVALCLI_TEST_KEY" in blob  # the variable's name is kept, never its value
    assert manifest["redacted"] == ["logs/worker-0.log"]


@pytest.mark.parametrize("damage", ["cut in half", "empty", "text"])
def test_compare_and_gate_given_a_damaged_archive_say_so(two_runs, tmp_path, damage):
    """A file named as a run that is not a readable archive is one line saying so, not
    "no run 'x.zip'" (zipfile.is_zipfile rejects an archive cut short)."""
    _, runs = two_runs
    archive = tmp_path / "a.zip"
    assert evalcli("archive", "a", "--runs-dir", runs, "--out", archive).returncode == 0
    data = archive.read_bytes()
    archive.write_bytes({"cut in half": data[:len(data) // 2], "empty": b"",
                         "text": b"not an archive\n"}[damage])
    for args in (("compare", "a", archive), ("gate", archive)):
        result = evalcli(*args, "--runs-dir", runs)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert result.stderr == f"error: {archive}: not a readable evalcli archive (File is " \
                                "not a zip file)\n", result.stderr
