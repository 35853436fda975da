"""Resume planning on many finished units, and supervisor memory as units grow.

    python benchmarks/bench_resume.py [--units 100000] [--memory 2000,8000]

1. Planning a resume of a run with N finished units: build the plan (N units), stream
   results.jsonl (N lines) into statuses, subtract. Reported in seconds.
2. Supervisor memory: run the generate stage on the mock engine (2 workers, zero latency)
   for growing unit counts in a fresh process each, and report the peak RSS of that process
   (/proc/self/statm on Linux). Flat memory = results are streamed to disk, not held.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _items(n: int, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"item_id": f"q{i}", "question": f"What is {i} plus one?",
                                 "answers": [str(i + 1)]}) + "\n")


def bench_planning(units: int) -> None:
    from evalcli.inputs.config import SamplingConfig
    from evalcli.inputs.datasets import DatasetSource, load_sources
    from evalcli.inputs.prompts import load_prompt_set
    from evalcli.run.generate import pending_units
    from evalcli.run.plan import Plan
    from evalcli.store.results import ResultRecord, ResultsWriter, read_statuses

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _items(units // 2, tmp / "items.jsonl")
        items = load_sources([DatasetSource(format="jsonl", path="items.jsonl", type="closed")],
                             tmp)
        prompts = load_prompt_set("default", tmp)
        t0 = time.perf_counter()
        plan = Plan(items=items, prompt_sets=[("default", prompts.sha256, prompts.prompts)],
                    engine_identity={}, model_label="m",
                    sampling=SamplingConfig(), seed=1)
        t_plan = time.perf_counter() - t0
        writer = ResultsWriter(tmp / "results.jsonl")
        for unit in plan.units:
            writer.append(ResultRecord(custom_id=unit.custom_id, status="ok", text="an answer",
                                       prompt_tokens=120, completion_tokens=4,
                                       finished_at="2026-11-29T00:00:00Z"))
        writer.close()
        t0 = time.perf_counter()
        statuses, _ = read_statuses(tmp / "results.jsonl")
        todo = pending_units(plan.units, {plan.trials[0].slug: statuses})
        t_resume = time.perf_counter() - t0
        assert not todo and len(statuses) == len(plan.units)
        print(f"planning {len(plan.units):,} units: build plan {t_plan:.3f} s, "
              f"read statuses + subtract {t_resume:.3f} s")


_MEMORY_CHILD = r"""
import json, resource, sys, tempfile
from pathlib import Path
from rich.console import Console
from evalcli.inputs.config import decode_profile, LoadedProfile
from evalcli.run.generate import generate
from evalcli.run.pipeline import build_setup, create_run
from evalcli.store.rundir import RunDir
n = int(sys.argv[1]); tmp = Path(sys.argv[2])
with open(tmp / "items.jsonl", "w") as fh:
    for i in range(n // 2):
        fh.write(json.dumps({"item_id": f"q{i}", "question": f"Q{i}? " + "word " * 60,
                             "answers": [str(i)]}) + "\n")
text = '[engine]\nname = "mock"\nworkers = 2\n[[datasets]]\nformat = "jsonl"\npath = "items.jsonl"\ntype = "closed"\n'
profile = decode_profile(text, "bench")
loaded = LoadedProfile(profile, "bench", "bench", tmp)
setup = build_setup(loaded, profile, RunDir(tmp / "runs", "m"))
manifest = create_run(setup)
def rss_mb():
    try:  # current resident set (Linux); ru_maxrss (peak) elsewhere
        return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = rss_mb()
status = generate(setup, manifest, Console(file=open(tmp / "log.txt", "w")), live=False)
after = rss_mb()
print(json.dumps({"units": len(setup.plan.units), "status": status,
                  "rss_before_mb": before, "rss_after_mb": after}))
"""


def bench_memory(sizes: list[int]) -> None:
    if sys.platform == "win32":
        print("memory benchmark uses ru_maxrss (POSIX only); skipped")
        return
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n), tmp],
                                 capture_output=True, text=True, cwd=ROOT, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for row in rows:
        grew = row["rss_after_mb"] - row["rss_before_mb"]
        print(f"{row['units']:>7,} units ({row['status']}): supervisor RSS "
              f"{row['rss_before_mb']:.1f} MB before generate, {row['rss_after_mb']:.1f} MB "
              f"after (+{grew:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--memory", default="2000,8000")
    args = parser.parse_args()
    bench_planning(args.units)
    bench_memory([int(x) for x in args.memory.split(",") if x])


if __name__ == "__main__":
    main()
