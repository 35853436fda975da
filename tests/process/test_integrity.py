"""Run integrity, reproduced as a user meets it (issue 11): stale or edited data is never
scored, failures never exit 0, bad input is one line (never a traceback) and run.json ends
truthful."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile


def _one_line_error(result, code: int, *needles: str) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: "), err
    for needle in needles:
        assert needle in err, err
    return err


def _dataset(path: Path, questions: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"item_id": k, "question": q, "answers": ["x"]}) + "\n"
                            for k, q in questions.items()), encoding="utf-8")
    return path


def _profile(tmp_path: Path, data: Path, **kw) -> Path:
    return write_profile(tmp_path / "p.toml", workers=1,
                         datasets=[{"format": "jsonl", "path": str(data), "type": "closed"}],
                         **kw)


def _events(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "events.jsonl").read_text().splitlines()]


# -- 1. stale answers never pair with new questions ------------------------------------------

def test_a_folder_without_run_json_is_never_taken_over(tmp_path):
    data = _dataset(tmp_path / "d.jsonl", {"a": "Old question one?", "b": "Old question two?"})
    profile, runs = _profile(tmp_path, data), tmp_path / "runs"
    assert evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "X").returncode == 0
    (runs / "X" / "run.json").unlink()
    before = {p: p.read_bytes() for p in (runs / "X").rglob("*") if p.is_file()}
    _dataset(data, {"a": "New question one?", "b": "New question two?"})
    again = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "X")
    _one_line_error(again, 4, str(runs / "X"), "no run.json", "--run-id")
    after = {p: p.read_bytes() for p in (runs / "X").rglob("*") if p.is_file()}
    assert after == before  # nothing in the folder was read into a new run or changed


def test_trial_slug_is_bound_to_the_items(tmp_path):
    data = _dataset(tmp_path / "d.jsonl", {"a": "Question one?", "b": "Question two?"})
    profile, runs = _profile(tmp_path, data), tmp_path / "runs"
    assert evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "r1").returncode == 0
    assert evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "r2").returncode == 0
    _dataset(data, {"a": "Question one, reworded?", "b": "Question two?"})
    assert evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "r3").returncode == 0
    slugs = {r: [p.name for p in trial_dirs(runs / r)] for r in ("r1", "r2", "r3")}
    assert slugs["r1"] == slugs["r2"]  # the same experiment, the same slug
    assert slugs["r3"] != slugs["r1"]  # other questions: other trials, never the old results


# -- 2. derived files are never trusted over their source ------------------------------------

def test_hand_edited_predictions_are_rebuilt_from_results(tmp_path):
    profile, runs = write_profile(tmp_path / "p.toml", workers=1), tmp_path / "runs"
    first = evalcli("run", "--profile", profile, "--limit-items", "4", "--runs-dir", runs,
                    "--run-id", "e")
    assert first.returncode == 0, first.stderr
    [trial] = trial_dirs(runs / "e")
    original = (trial / "predictions.csv").read_bytes()
    report = (runs / "e" / "report.md").read_bytes()
    rows = read_csv(trial / "predictions.csv")
    rows[0]["response_text"] = "an answer typed in a spreadsheet"  # a re-save that changes data
    with open(trial / "predictions.csv", "w", encoding="utf-8", newline="") as fh:
        import csv

        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    resumed = evalcli("resume", "e", "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    assert "parse stage redone from results.jsonl" in resumed.stdout
    assert (trial / "predictions.csv").read_bytes() == original
    assert (runs / "e" / "report.md").read_bytes() == report
    redone = [e for e in _events(runs / "e") if e["event"] == "stage_redone"]
    assert [e["stage"] for e in redone] == ["parse"]
    assert "predictions.csv (changed)" in redone[0]["outputs"][0]
    # a deleted derived file, with only the report asked for: still rebuilt from its source
    (trial / "per_item_scores.csv").unlink()
    only = evalcli("resume", "e", "--runs-dir", runs, "--only", "report")
    assert only.returncode == 0, only.stderr
    assert "score stage redone" in only.stdout and (trial / "per_item_scores.csv").exists()
    manifest = json.loads((runs / "e" / "run.json").read_text())
    assert set(manifest["stages"]["parse"]["outputs"]) == {
        f"trials/{trial.name}/predictions.csv"}


# -- 3. failures never exit 0; one summary line ----------------------------------------------

def test_all_units_failed_exits_5_with_a_summary(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=2, options={"fail_on": ["|"]},
                            run={"max_consecutive_failures": 0})
    result = evalcli("run", "--profile", profile, "--limit-items", "3", "--runs-dir",
                     tmp_path / "runs", "--run-id", "f")
    err = _one_line_error(result, 5, "6 of 6 units failed (6 mock_failure)",
                          "evalcli resume f")
    assert err
    summary = [line for line in result.stdout.splitlines() if line.startswith("6 units:")]
    assert len(summary) == 1, result.stdout
    assert summary[0].startswith("6 units: 0 ok, 6 failed (6 mock_failure) in ")
    assert "; report: " in summary[0] and summary[0].isascii()


def test_a_clean_run_exits_0_with_a_summary(tmp_path):
    result = evalcli("run", "--profile", write_profile(tmp_path / "p.toml", workers=2),
                     "--limit-items", "3", "--runs-dir", tmp_path / "runs", "--run-id", "ok")
    assert result.returncode == 0, result.stderr
    [summary] = [line for line in result.stdout.splitlines() if line.startswith("6 units:")]
    assert "6 units: 6 ok, 0 failed in " in summary and " units/s; report: " in summary
    assert summary.endswith(str(tmp_path / "runs" / "ok" / "report.md"))


# -- 8. run ids ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["ünïcode", "CON", "NUL.txt", "com1", "lpt9.log", "x\n",
                                 "trailing.", "-x", "a" * 121, "a b"])
def test_bad_run_ids_are_refused_before_anything_is_written(tmp_path, bad):
    result = evalcli("run", "--profile", "mock", "--limit-items", "1", "--runs-dir",
                     tmp_path / "runs", "--run-id", bad)
    _one_line_error(result, 4, "run id")
    assert not (tmp_path / "runs").exists()


def test_empty_run_id_is_an_error(tmp_path):
    result = evalcli("run", "--profile", "mock", "--runs-dir", tmp_path / "runs", "--run-id", "")
    _one_line_error(result, 4, "run id is empty")
    assert not (tmp_path / "runs").exists()


# -- 6. timeouts -----------------------------------------------------------------------------

def test_a_timed_out_unit_is_killed_once_per_try_and_recorded_as_timeout(tmp_path):
    profile = write_profile(tmp_path / "p.toml", workers=1, options={"hang_on": ["|control|"]},
                            run={"unit_timeout_s": 1.0, "max_crashes_per_unit": 2,
                                 "max_consecutive_failures": 0})
    runs = tmp_path / "runs"
    result = evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir", runs,
                     "--run-id", "t")
    _one_line_error(result, 5, "1 of 2 units failed (1 timeout)")
    events = _events(runs / "t")
    assert sum(e["event"] == "unit_timeout" for e in events) == 2  # once per try, not a loop
    died = [e for e in events if e["event"] == "worker_died"]
    assert len(died) == 2 and all("unit_timeout_s" in e["how"] for e in died)
    [trial] = trial_dirs(runs / "t")
    [failed] = [r for r in read_csv(trial / "predictions.csv") if r["status"] == "failed"]
    record = [json.loads(line) for line in (trial / "results.jsonl").read_text().splitlines()
              if "|control|" in line][-1]
    assert record["error_kind"] == "timeout" and "timed out after 1 s" in record["error"]
    assert "SIGKILL" not in failed["error"] and "out of memory" not in failed["error"]


# -- 5. one line, never a traceback; run.json ends truthful ----------------------------------

def test_empty_dataset_is_refused_before_a_run_directory_exists(tmp_path):
    data = tmp_path / "empty.jsonl"
    data.write_text("", encoding="utf-8")
    result = evalcli("run", "--profile", _profile(tmp_path, data), "--runs-dir",
                     tmp_path / "runs", "--run-id", "z")
    _one_line_error(result, 2, "no items")
    assert not (tmp_path / "runs").exists()


def test_runs_dir_that_is_a_file(tmp_path):
    (tmp_path / "runs").write_text("not a folder", encoding="utf-8")
    result = evalcli("run", "--profile", "mock", "--limit-items", "1", "--runs-dir",
                     tmp_path / "runs")
    _one_line_error(result, 4, "is a file, not a folder")


def _patched_evalcli(patch: str, *args, cwd=None) -> subprocess.CompletedProcess:
    """The real CLI in a child whose supervisor process runs `patch` first (a fault that
    cannot be produced for real here: a full disk, a folder root may not write in)."""
    code = f"{patch}\nimport sys\nsys.argv = ['evalcli', *sys.argv[1:]]\n" \
           "from evalcli.__main__ import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_runs_dir_that_cannot_be_created_is_one_line(tmp_path):
    """Every OS, every user (root and Windows administrators too): --runs-dir under a file
    cannot be created, so nothing can be written there."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    runs = blocker / "runs"
    result = evalcli("run", "--profile", "mock", "--limit-items", "1", "--runs-dir", runs)
    _one_line_error(result, 4, "cannot write in --runs-dir", str(runs))
    assert blocker.read_text(encoding="utf-8") == "a file where a folder should be"


@pytest.mark.skipif(sys.platform == "win32",
                    reason="Windows ignores the read-only attribute on a folder (all chmod sets "
                           "there); the test above covers Windows")
@pytest.mark.skipif(sys.platform != "win32" and os.geteuid() == 0,
                    reason="root writes in a folder whatever its mode; the test above "
                           "covers root")
def test_read_only_runs_dir_is_one_line(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o500)
    try:
        result = evalcli("run", "--profile", "mock", "--limit-items", "1", "--runs-dir", runs)
    finally:
        runs.chmod(0o700)
    _one_line_error(result, 4, "cannot write in --runs-dir", str(runs))


_DISK_FULL_AFTER_3 = """
import errno
from evalcli.store import results
_append = results.ResultsWriter.append
count = [0]
class _Full:
    def __init__(self, fh): self.fh = fh
    def write(self, data):
        count[0] += 1
        if count[0] > 3:
            self.fh.write(data[:7])  # a partial line, as a full disk leaves it
            raise OSError(errno.ENOSPC, 'No space left on device')
        return self.fh.write(data)
    def __getattr__(self, name): return getattr(self.fh, name)
_init = results.ResultsWriter.__init__
def __init__(self, path):
    _init(self, path)
    self._fh = _Full(self._fh)
results.ResultsWriter.__init__ = __init__
"""


def test_disk_full_mid_run_stops_truthfully_and_resumes(tmp_path):
    runs = tmp_path / "runs"
    profile = write_profile(tmp_path / "p.toml", workers=2)
    result = _patched_evalcli(_DISK_FULL_AFTER_3, "run", "--profile", profile,
                              "--limit-items", "5", "--runs-dir", runs, "--run-id", "full")
    _one_line_error(result, 4, "results.jsonl: disk full", "evalcli resume full")
    manifest = json.loads((runs / "full" / "run.json").read_text())
    assert manifest["status"] == "stopped" and "disk full" in manifest["error"]
    assert manifest["stages"]["generate"]["status"] == "stopped"
    resumed = evalcli("resume", "full", "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    [trial] = trial_dirs(runs / "full")
    rows = read_csv(trial / "predictions.csv")
    assert len(rows) == 10 and {r["status"] for r in rows} == {"ok"}
    lines = (trial / "results.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(line)["custom_id"] for line in lines}) == 10


def test_file_held_open_on_windows_is_one_line(tmp_path):
    """os.replace keeps failing with PermissionError (Windows, a file held open by an
    editor): after the retries, one line naming the file — not a raw PermissionError."""
    patch = ("import os, errno\nfrom evalcli.store import fsutil\n"
             "fsutil._REPLACE_WAIT_S = 0.001\n"
             "def replace(src, dst):\n"
             "    if str(dst).endswith('predictions.csv'):\n"
             "        raise PermissionError(errno.EACCES, 'Access is denied', str(dst))\n"
             "    return os.rename(src, dst)\n"
             "fsutil.os.replace = replace\n")
    runs = tmp_path / "runs"
    result = _patched_evalcli(patch, "run", "--profile", "mock", "--limit-items", "2",
                              "--runs-dir", runs, "--run-id", "w")
    _one_line_error(result, 4, "predictions.csv", "evalcli resume w")
    manifest = json.loads((runs / "w" / "run.json").read_text())
    assert manifest["status"] == "stopped"
    # the run stopped (resumable), so the stage it was in is stopped too, its error the
    # reason alone (run.json's error carries the "stopped: " prefix)
    assert manifest["stages"]["parse"]["status"] == "stopped"
    assert manifest["stages"]["parse"]["error"].startswith("cannot write ")


def test_corrupt_middle_line_of_results_is_one_line(tmp_path):
    runs = tmp_path / "runs"
    assert evalcli("run", "--profile", write_profile(tmp_path / "p.toml", workers=1),
                   "--limit-items", "3", "--runs-dir", runs, "--run-id", "c").returncode == 0
    [trial] = trial_dirs(runs / "c")
    lines = (trial / "results.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = b'{"custom_id": "broken\n'
    (trial / "results.jsonl").write_bytes(b"".join(lines))
    result = evalcli("resume", "c", "--runs-dir", runs)
    _one_line_error(result, 4, "results.jsonl line 2", "not a valid result record")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT handling checked on POSIX; Windows has the Ctrl+Break tests")
def test_ctrl_c_in_the_first_second_is_one_line(tmp_path):
    # what the `evalcli` script does, with Ctrl+C delivered at a known point: when the CLI's
    # own (slow) imports start — an import hook raises SIGINT in the process itself, so the
    # interrupt never lands in this harness's own lines, however loaded the machine is
    code = ("import signal, sys\nsys.argv = ['evalcli', *sys.argv[1:]]\n"
            "class Hook:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'evalcli.cli':\n"
            "            signal.raise_signal(signal.SIGINT)\n"
            "        return None\n"
            "sys.meta_path.insert(0, Hook())\n"
            "from evalcli.__main__ import main\nmain()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "run", "--profile", "mock",
                             "--runs-dir", str(tmp_path / "runs")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    for manifest in (tmp_path / "runs").glob("*/run.json"):
        assert json.loads(manifest.read_text())["status"] != "running"


# -- 7. worker limits ------------------------------------------------------------------------

def test_workers_are_capped_with_a_note(tmp_path):
    result = evalcli("run", "--profile", "mock", "--workers", "1000", "--plan-only")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["workers"] == 32
    assert "using 32 worker(s) instead of 1000" in plan["worker_note"]


def test_llama_cpp_workers_are_capped_by_free_memory(tmp_path):
    model = tmp_path / "huge.gguf"  # sparse: as big as a model that cannot fit four times
    with open(model, "wb") as fh:
        fh.write(b"GGUF")
        fh.truncate(1 << 40)
    result = evalcli("run", "--profile", "local-llamacpp", "--model", model, "--workers", "4",
                     "--plan-only")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["workers"] == 1
    note = plan["worker_note"]
    assert "using 1 worker(s) instead of 4" in note and "4 x (1024.0 GiB model" in note
    assert "free" in note and "lower --workers" in note
