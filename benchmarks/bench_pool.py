"""The worker pool at scale: units/s and the supervisor's peak memory, 1,000 to 100,000 units.

    python benchmarks/bench_pool.py [--sizes 1000,10000,100000] [--workers 2]
                                    [--answer-chars 0]

Each size is a whole `evalcli run` (the real CLI, in a fresh process) on the mock engine at
zero latency with N units (N/2 generated items x control/treatment): plan, spawn, generate,
predictions, scoring, statistics, report. Printed per size:

    generate units/s   units / seconds of the generate stage, spawn and engine start
                       included (the plumbing: IPC, scheduling, result writes)
    stage seconds      each stage's wall time (Manifest.start_stage/finish_stage, wrapped)
    results MB         the size of results.jsonl: with --answer-chars N every answer is
                       N characters longer (the mock's padding_chars), and memory must
                       not follow it
    peak RSS           the supervisor process's peak resident set over the whole run
                       (ru_maxrss; workers are separate processes and not included), and
                       its peak during each stage (sampled every 20 ms from /proc by a
                       separate process, Linux: a thread in the run would itself pin memory)

Flat memory = results and predictions are streamed, not held: peak RSS should barely move
from 1,000 to 100,000 units. POSIX only (the `resource` module); timings on a shared,
noisy machine — compare sizes within one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# polls the run's resident set from outside it: a sampling thread inside the measured process
# would itself keep memory (each new reading is an object that pins an allocator arena)
_MONITOR = r"""
import json, os, select, sys, time
pid, page, out = int(sys.argv[1]), os.sysconf("SC_PAGE_SIZE"), []
while True:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            out.append((time.monotonic(), int(fh.read().split()[1]) * page / 2**20))
    except OSError:
        break
    if select.select([sys.stdin], [], [], 0.02)[0]:  # stdin closed: the run is over
        break
print(json.dumps(out))
"""

_CHILD = r"""
import json, os, resource, subprocess, sys, time
from pathlib import Path
from evalcli.store.manifest import Manifest
tmp, monitor_code = Path(sys.argv[1]), sys.argv[2]
marks, seconds = [(time.monotonic(), "start")], {}
monitor = None
if sys.platform.startswith("linux"):
    monitor = subprocess.Popen([sys.executable, "-c", monitor_code, str(os.getpid())],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
start_stage, finish_stage = Manifest.start_stage, Manifest.finish_stage
def started(self, name, *a, **k):
    marks.append((time.monotonic(), name))
    seconds[name] = time.perf_counter()
    return start_stage(self, name, *a, **k)
def finished(self, name, *a, **k):
    if name in seconds:
        seconds[name] = time.perf_counter() - seconds[name]
    marks.append((time.monotonic(), "after " + name))
    return finish_stage(self, name, *a, **k)
Manifest.start_stage, Manifest.finish_stage = started, finished
from evalcli.__main__ import main
sys.argv = ["evalcli", "run", "--profile", str(tmp / "bench.toml"), "--runs-dir",
            str(tmp / "runs"), "--run-id", "pool"]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)
peaks = {}
if monitor is not None:
    monitor.stdin.close()
    for at, mb in json.loads(monitor.stdout.read()):
        stage = [name for t, name in marks if t <= at][-1]
        peaks[stage] = max(peaks.get(stage, 0.0), mb)
print("BENCH " + json.dumps({"code": code, "peak_mb": peak, "stage_peaks": peaks,
                             "stages": seconds}))
"""

PROFILE = """[engine]
name = "mock"
workers = {workers}

[engine.options]
accuracy = 0.7
abstain_rate = 0.1
padding_chars = {padding}

[[datasets]]
format = "jsonl"
path = "items.jsonl"
type = "closed"
"""


def _items(n_items: int, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for i in range(n_items):
            fh.write(json.dumps({"item_id": f"q{i}", "question": f"What is {i} plus one?",
                                 "answers": [str(i + 1)]}) + "\n")


def run_size(units: int, workers: int, padding: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _items(units // 2, tmp / "items.jsonl")
        (tmp / "bench.toml").write_text(PROFILE.format(workers=workers, padding=padding),
                                        encoding="utf-8")
        out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp), _MONITOR],
                             capture_output=True,
                             text=True, cwd=ROOT, timeout=3600)
        line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
        if line is None or json.loads(line[6:])["code"] not in (0, None):
            raise SystemExit(f"run of {units} units failed:\n{out.stdout[-2000:]}\n"
                             f"{out.stderr[-2000:]}")
        row = json.loads(line[6:])
        manifest = json.loads((tmp / "runs" / "pool" / "run.json").read_text(encoding="utf-8"))
        done = sum(t["done"] for t in manifest["trials"].values())
        results_mb = sum(p.stat().st_size for p in (tmp / "runs" / "pool").rglob(
            "results.jsonl")) / 2**20
        return {"units": units, "done": done, "units_per_s": done / row["stages"]["generate"],
                "results_mb": results_mb, **row}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--answer-chars", type=int, default=0,
                        help="make every answer this many characters longer")
    args = parser.parse_args()
    if sys.platform == "win32":
        raise SystemExit("bench_pool.py reads peak memory with the resource module (POSIX)")
    rows = [run_size(int(n), args.workers, args.answer_chars)
            for n in args.sizes.split(",") if n]
    print(f"mock engine, zero latency, {args.workers} workers, answers +{args.answer_chars} "
          "characters, whole `evalcli run` per size")
    print("| units | done | generate units/s | stage seconds | results MB | "
          "supervisor peak RSS | peak RSS per stage |")
    print("|---:|---:|---:|---|---:|---:|---|")
    for r in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        peaks = ", ".join(f"{k} {v:.0f}" for k, v in r["stage_peaks"].items()
                          if not k.startswith("after "))
        print(f"| {r['units']:,} | {r['done']:,} | {r['units_per_s']:,.0f} | {stages} | "
              f"{r['results_mb']:,.0f} | {r['peak_mb']:.0f} MiB | {peaks} |")


if __name__ == "__main__":
    main()
