"""CI smoke on the real demo model (the Windows model job runs it): every step asserts.

    evalcli run --limit-items 3        exit 0, status completed, every unit ok, predictions
    evalcli doctor --profile ...       exit 0 (nothing failed); --report prints its block
    run + evalcli stop + resume        the stop exits 130 (resumable), resume finishes it
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

PROFILE = sys.argv[1] if len(sys.argv) > 1 else "local-llamacpp"
RUNS = Path("runs")


def evalcli(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "evalcli", *args], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=1800)
    print(f"$ evalcli {' '.join(args)}  -> exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    assert proc.returncode == expect, f"evalcli {args[0]} exited {proc.returncode}, not {expect}"
    return proc


def assert_complete(run_id: str) -> None:
    manifest = json.loads((RUNS / run_id / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed", manifest["status"]
    trials = list((RUNS / run_id / "trials").iterdir())
    assert trials, "no trial directories"
    for trial in trials:
        with open(trial / "predictions.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        results = (trial / "results.jsonl").read_text(encoding="utf-8").splitlines()
        assert rows and len(rows) == len(results), (len(rows), len(results))
        bad = [r["custom_id"] for r in rows if r["status"] != "ok"]
        assert not bad, f"units not ok: {bad}"
        print(f"{trial.name}: {len(rows)} units, all ok")


evalcli("run", "--profile", PROFILE, "--limit-items", "3", "--run-id", "smoke")
assert_complete("smoke")
evalcli("doctor", "--profile", PROFILE)
evalcli("doctor", "--profile", PROFILE, "--report")

proc = subprocess.Popen([sys.executable, "-m", "evalcli", "run", "--profile", PROFILE,
                         "--limit-items", "6", "--run-id", "stopped"])
results = RUNS / "stopped" / "trials"
deadline = time.monotonic() + 900
while not any(p.stat().st_size for p in results.glob("*/results.jsonl")):
    assert proc.poll() is None, "the run ended before the first result"
    assert time.monotonic() < deadline, "no result within 15 minutes"
    time.sleep(0.5)
evalcli("stop", "stopped")
assert proc.wait(900) == 130, f"the stopped run exited {proc.returncode}, not 130"
evalcli("resume", "stopped")
assert_complete("stopped")
print("smoke: all steps passed")
