"""Prompt iteration with answer reuse: the second experiment keeps the control prompt and
changes the treatment prompt; with `--reuse` its control answers come from the store.

    python benchmarks/bench_reuse.py [--reps R] [--limit-items N] [--profile local-llamacpp]
    python benchmarks/bench_reuse.py --determinism K [--limit-items N]

Per round, three whole `python -m evalcli run` processes, in this order:

    first      the profile's prompt set, --reuse, on an empty answer store (fills it)
    second     the same prompt set, one sentence added to the treatment prompt, --reuse
               (the control's answers reused)
    fresh      the second experiment again without reuse (what it costs without the store)

Printed: the median wall time of each, and the ratios second ÷ first (the target: at most
0.55) and second ÷ fresh, each the median of the per-round ratios with the min-max spread.
Every round also checks that each reused answer equals the fresh run's answer to the same
unit (the model gives it today), and counts the reused units.

`--determinism K` instead runs the experiment twice, with `--reuse --check-determinism K`:
once at the profile's thread count and once at one thread. It prints each run's check
(K of K identical is expected at a fixed thread count), how many units the one-thread run
reused (none: the thread count is in the key), and how many of its answers differ from the
first run's — what reusing across a thread count would have passed off as the model's.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import msgspec

# appended to each treatment prompt: the second experiment's treatment differs from the
# first's by one sentence, so the two cost the same to run and the ratio is reuse's alone
EDIT = "\nAnswer in as few words as you can."


def _profiles(profile: str, folder: Path) -> tuple[Path, Path]:
    """The profile as given, and a copy whose prompt set has another treatment prompt."""
    from evalcli.inputs.config import load_profile
    from profiles import bundled_profile_text

    loaded = load_profile(profile)
    text = bundled_profile_text(profile) if loaded.source.startswith("bundled:") \
        else Path(profile).read_text(encoding="utf-8")
    data = msgspec.toml.decode(text)
    first = folder / "first.toml"
    first.write_bytes(msgspec.toml.encode(data))
    [name] = loaded.profile.prompts.names
    source = resources.files("evalcli.inputs").joinpath("data", "prompts", f"{name}.toml")
    prompts = msgspec.toml.decode(source.read_text(encoding="utf-8")) if source.is_file() \
        else msgspec.toml.decode(Path(name).read_text(encoding="utf-8"))
    control = prompts["control"]
    for condition in prompts["system"]:
        if condition != control:
            prompts["system"][condition] += EDIT
    changed = folder / "changed-prompts.toml"
    changed.write_bytes(msgspec.toml.encode(prompts))
    data.setdefault("prompts", {})["set"] = str(changed)
    second = folder / "second.toml"
    second.write_bytes(msgspec.toml.encode(data))
    return first, second


def _run(profile: Path, runs: Path, run_id: str, limit: int, store: Path,
         reuse: bool, *extra: str) -> float:
    cmd = [sys.executable, "-m", "evalcli", "run", "--profile", str(profile), "--runs-dir",
           str(runs), "--run-id", run_id, "--limit-items", str(limit), *extra]
    if reuse:
        cmd.append("--reuse")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "EVALCLI_ANSWER_CACHE": str(store)})
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 5):  # 5: some units failed (still a finished run)
        sys.exit(f"{run_id} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall


def _answers(runs: Path, run_id: str) -> dict[str, tuple[str, str]]:
    out = {}
    for path in (runs / run_id / "trials").glob("*/predictions.csv"):
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out[row["custom_id"]] = (row["response_text"], row.get("reused_from", ""))
    return out


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def _threads_profile(first: Path, threads: int) -> Path:
    data = msgspec.toml.decode(first.read_text(encoding="utf-8"))
    data["engine"].setdefault("options", {})["n_threads"] = threads
    path = first.with_name(f"threads-{threads}.toml")
    path.write_bytes(msgspec.toml.encode(data))
    return path


def determinism(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first, _ = _profiles(args.profile, root)
        store, runs = root / "answers.sqlite3", root / "runs"
        check = ["--check-determinism", str(args.determinism)]
        _run(first, runs, "threads-default", args.limit_items, store, True, *check)
        _run(_threads_profile(first, 1), runs, "threads-1", args.limit_items, store, True,
             *check)
        default, one = _answers(runs, "threads-default"), _answers(runs, "threads-1")
        for run_id in ("threads-default", "threads-1"):
            manifest = msgspec.json.decode((runs / run_id / "run.json").read_bytes())
            c = manifest["determinism"]
            threads = manifest["environment"]["engine_options"].get("n_threads")
            print(f"{run_id} (n_threads {threads}): determinism check {c['identical']} of "
                  f"{c['checked']} identical; {len(c['differing'])} differing; reuse turned "
                  f"off for: {c['reuse_turned_off'] or 'none'}")
            for d in c["differing"]:
                print(f"  {d['custom_id']}: recorded {d['recorded']!r}, re-run {d['rerun']!r}")
        reused = sum(1 for _, source in one.values() if source)
        differ = [cid for cid, (text, _) in one.items() if default.get(cid, ("",))[0] != text]
        print(f"one thread: {reused} of {len(one)} reused; {len(differ)} of {len(one)} answers "
              "differ from the default thread count's")
        for cid in differ[:5]:
            print(f"  {cid}: {default[cid][0]!r} vs {one[cid][0]!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--limit-items", type=int, default=0, help="0 = every item")
    parser.add_argument("--profile", default="local-llamacpp")
    parser.add_argument("--determinism", type=int, default=0, metavar="K",
                        help="the determinism check at two thread counts instead")
    args = parser.parse_args()
    if args.determinism:
        determinism(args)
        return
    walls: dict[str, list[float]] = {"first": [], "second": [], "fresh": []}
    reused_counts, mismatches, units = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first, second = _profiles(args.profile, root)
        for rep in range(args.reps):
            store, runs = root / f"answers-{rep}.sqlite3", root / f"runs-{rep}"
            walls["first"].append(_run(first, runs, "first", args.limit_items, store, True))
            walls["second"].append(_run(second, runs, "second", args.limit_items, store, True))
            walls["fresh"].append(_run(second, runs, "fresh", args.limit_items, store, False))
            reused, fresh = _answers(runs, "second"), _answers(runs, "fresh")
            units = len(reused)
            reused_counts.append(sum(1 for _, source in reused.values() if source))
            mismatches += sum(1 for cid, (text, source) in reused.items()
                              if source and fresh.get(cid, ("",))[0] != text)
            print(f"round {rep + 1}: first {walls['first'][-1]:.1f} s, second (reuse) "
                  f"{walls['second'][-1]:.1f} s, second (fresh) {walls['fresh'][-1]:.1f} s, "
                  f"{reused_counts[-1]} of {units} reused", flush=True)
    ratio = [s / f for s, f in zip(walls["second"], walls["first"], strict=True)]
    vs_fresh = [s / f for s, f in zip(walls["second"], walls["fresh"], strict=True)]
    print()
    print(f"| run ({args.profile}, {units} units, {args.reps} rounds) | median wall s |")
    print("|---|---|")
    for name, label in (("first", "first experiment, --reuse, empty store"),
                        ("second", "second experiment (treatment changed), --reuse"),
                        ("fresh", "second experiment, no reuse")):
        print(f"| {label} | {statistics.median(walls[name]):.1f} |")
    print()
    print(f"second / first: {_spread(ratio)}  (target <= 0.55)")
    print(f"second / fresh second: {_spread(vs_fresh)}")
    print(f"reused per round: {reused_counts}; reused answers different from the fresh run's: "
          f"{mismatches}")


if __name__ == "__main__":
    main()
