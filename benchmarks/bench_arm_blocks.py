"""What alternating the arms in blocks costs against the fully grouped order, on the demo.

    python benchmarks/bench_arm_blocks.py [--items 40] [--reps 5] [--blocks 16,8]

The demo profile `local-llamacpp` (the embedded Gemma 3 270M, T = 0, 1 worker), the same
`--items` items, run as `evalcli run --to generate` once per order and rep, each a fresh
process timed from start to exit (model load included):

  grouped   `[run] arm_block_items = 0`: every control unit, then every treatment unit
  b=N       `[run] arm_block_items = N`: ABBA… blocks of N items (the default is 16)

Orders go round-robin, reversed every other rep, so load on this shared machine hits them
alike. Printed per rep and as the median with its min-max spread, blocked ÷ grouped:

  whole process   seconds of the process
  engine time     sum of the per-unit engine latencies (results.jsonl latency_ms): the calls
                  themselves, where a lost prefix cache shows
  prompt evals    prompt tokens llama.cpp actually evaluated (timings.prompt_eval_tokens):
                  the work a block edge adds, independent of the machine's noise
  same answers    units whose text is identical in both orders
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _profile(tmp: Path, block: int) -> Path:
    text = (ROOT / "profiles" / "local-llamacpp.toml").read_text(encoding="utf-8")
    path = tmp / f"blocks-{block}.toml"
    path.write_text(text + f"\n[run]\narm_block_items = {block}\n", encoding="utf-8")
    return path


def _run(tmp: Path, block: int, items: int, rep: int) -> tuple[float, dict]:
    run_id = f"b{block}-{rep}"
    cmd = [sys.executable, "-m", "evalcli", "run", "--profile", str(_profile(tmp, block)),
           "--limit-items", str(items), "--runs-dir", str(tmp / "runs"), "--run-id", run_id,
           "--to", "generate"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = {}
    for results in (tmp / "runs" / run_id / "trials").glob("*/results.jsonl"):
        for line in results.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            out[r["custom_id"]] = (r.get("text", ""), (r.get("latency_ms") or 0.0) / 1000.0,
                                   (r.get("timings") or {}).get("prompt_eval_tokens") or 0)
    return seconds, out


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--blocks", default="16,8", help="arm_block_items values to compare")
    args = parser.parse_args()
    blocks = [int(b) for b in args.blocks.split(",")]
    orders = [0, *blocks]
    ratios: dict[int, dict[str, list[float]]] = {b: {"s": [], "engine": [], "evals": []}
                                                 for b in blocks}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for rep in range(args.reps):
            order = orders if rep % 2 == 0 else orders[::-1]
            got = {b: _run(tmp, b, args.items, rep) for b in order}
            g_s, grouped = got[0]
            g_engine = sum(v[1] for v in grouped.values())
            g_evals = sum(v[2] for v in grouped.values())
            line = [f"rep {rep + 1} ({', '.join(map(str, order))}): grouped {g_s:.1f} s, "
                    f"engine {g_engine:.1f} s, {g_evals} prompt tokens evaluated"]
            for b in blocks:
                s, units = got[b]
                engine = sum(v[1] for v in units.values())
                evals = sum(v[2] for v in units.values())
                same = sum(1 for cid, v in units.items() if grouped.get(cid, ("",))[0] == v[0])
                ratios[b]["s"].append(s / g_s)
                ratios[b]["engine"].append(engine / g_engine)
                ratios[b]["evals"].append(evals / g_evals if g_evals else float("nan"))
                line.append(f"b={b} {s:.1f} s ({s / g_s:.3f}), engine {engine:.1f} s "
                            f"({engine / g_engine:.3f}), {evals} evaluated "
                            f"({ratios[b]['evals'][-1]:.3f}), same answers {same}/{len(units)}")
            print("; ".join(line), flush=True)
    for b in blocks:
        print(f"b={b} / grouped (median, min-max of {args.reps}): whole process "
              f"{_spread(ratios[b]['s'])}, engine time {_spread(ratios[b]['engine'])}, "
              f"prompt tokens evaluated {_spread(ratios[b]['evals'])}")


if __name__ == "__main__":
    main()
