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
  token model     1 + (extra prompt tokens evaluated) x (marginal seconds per prompt token,
                  the slope of prompt_eval_ms on prompt_eval_tokens over the rep's units)
                  / grouped engine time: the cost of the blocks without the machine's noise

    python benchmarks/bench_arm_blocks.py --count [--items 0] [--blocks 32,16,8,4,1]
                                          [--prompts worked-examples,default]

needs no timing: the planned order of every unit (evalcli's own plan and renderer, the
demo model's tokenizer only) and llama-cpp-python's prefix rule — a prompt reuses the KV
cache for the tokens it shares with the start of the previous one — give the prompt tokens
each order makes llama.cpp evaluate, for every block size and prompt set (0 items = all).
The measured runs check it (the `prompt evals` column).
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
            timings = r.get("timings") or {}
            out[r["custom_id"]] = (r.get("text", ""), (r.get("latency_ms") or 0.0) / 1000.0,
                                   timings.get("prompt_eval_tokens") or 0,
                                   timings.get("prompt_eval_ms") or 0.0)
    return seconds, out


def _count(args) -> None:
    import llama_cpp
    import msgspec

    from engines.llama_cpp import install_prompt_format, prompt_token_ids
    from evalcli.inputs.config import load_profile, replace_run
    from evalcli.run.pipeline import build_setup
    from evalcli.store.rundir import RunDir

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        llm = options = template = None
        print("| prompt set | items | units | grouped: prompt tokens evaluated | "
              + " | ".join(f"b={b} ÷ grouped" for b in args.blocks.split(",")) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(args.blocks.split(",")))
        for prompts in args.prompts.split(","):
            cells, base = [], None
            for block in [0, *map(int, args.blocks.split(","))]:
                loaded = load_profile(str(_profile(tmp, block)))
                profile = replace_run(loaded.profile, limit_items=args.items)
                profile = msgspec.structs.replace(profile, prompts=msgspec.structs.replace(
                    profile.prompts, set=prompts))
                loaded = msgspec.structs.replace(loaded, profile=profile)
                setup = build_setup(loaded, profile, RunDir(tmp / f"r{prompts}{block}", "p"))
                if llm is None:
                    options = setup.engine.options
                    llm = llama_cpp.Llama(model_path=options.model, vocab_only=True,
                                          verbose=False)
                    template = install_prompt_format(llm, options)
                previous, evaluated = [], 0
                for unit in setup.plan.units:
                    tokens = prompt_token_ids(llm, template, options,
                                              setup.plan.request(unit).messages)
                    shared = 0
                    for a, b in zip(tokens, previous, strict=False):
                        if a != b:
                            break
                        shared += 1
                    evaluated += len(tokens) - shared
                    previous = tokens
                if base is None:
                    base, units = evaluated, len(setup.plan.units)
                    cells.append(f"{evaluated:,}")
                else:
                    cells.append(f"{evaluated / base:.3f}")
            print(f"| {prompts} | {units // 2} | {units} | " + " | ".join(cells) + " |",
                  flush=True)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--blocks", default="16,8", help="arm_block_items values to compare")
    parser.add_argument("--count", action="store_true",
                        help="count the prompt tokens each order evaluates (no timing)")
    parser.add_argument("--prompts", default="worked-examples,default",
                        help="--count: the prompt sets")
    args = parser.parse_args()
    if args.count:
        _count(args)
        return
    blocks = [int(b) for b in args.blocks.split(",")]
    orders = [0, *blocks]
    ratios: dict[int, dict[str, list[float]]] = {
        b: {"s": [], "engine": [], "evals": [], "model": []} for b in blocks}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for rep in range(args.reps):
            order = orders if rep % 2 == 0 else orders[::-1]
            got = {b: _run(tmp, b, args.items, rep) for b in order}
            g_s, grouped = got[0]
            g_engine = sum(v[1] for v in grouped.values())
            g_evals = sum(v[2] for v in grouped.values())
            # the marginal cost of one more prompt token, from this rep's units (every order):
            # least squares of prompt-eval ms on prompt tokens evaluated
            units = [v for _, run in got.values() for v in run.values()]
            x = [v[2] for v in units]
            y = [v[3] for v in units]
            mx, my = statistics.fmean(x), statistics.fmean(y)
            slope = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / \
                max(sum((a - mx) ** 2 for a in x), 1e-9) / 1000.0  # s per token
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
                # what the extra tokens cost at the marginal rate, over the grouped engine time
                ratios[b]["model"].append(1 + (evals - g_evals) * slope / g_engine)
                line.append(f"b={b} {s:.1f} s ({s / g_s:.3f}), engine {engine:.1f} s "
                            f"({engine / g_engine:.3f}), {evals} evaluated "
                            f"({ratios[b]['evals'][-1]:.3f}; x {1000 * slope:.1f} ms a token -> "
                            f"{ratios[b]['model'][-1]:.4f}), same answers {same}/{len(units)}")
            print("; ".join(line), flush=True)
    for b in blocks:
        print(f"b={b} / grouped (median, min-max of {args.reps}): whole process "
              f"{_spread(ratios[b]['s'])}, engine time {_spread(ratios[b]['engine'])}, "
              f"prompt tokens evaluated {_spread(ratios[b]['evals'])}, their cost at the "
              f"marginal ms per token {_spread(ratios[b]['model'])}")


if __name__ == "__main__":
    main()
