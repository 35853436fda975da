"""What alternating the arms in blocks costs against the fully grouped order, on the demo,
with and without the engine's saved prefix states.

    python benchmarks/bench_arm_blocks.py [--items 40] [--reps 5] [--blocks 32] [--states on,off]

The demo profile `local-llamacpp` (the embedded Gemma 3 270M, T = 0, 1 worker), the same
`--items` items, run as `evalcli run --to generate` once per order and rep, each a fresh
process timed from start to exit (model load included):

  grouped      `[run] arm_block_items = 0` and `saved_states_mib = 0`: every control unit,
               then every treatment unit; nothing is ever restored (the reference)
  b=N          `[run] arm_block_items = N`: ABBA… blocks of N items, with the default
               `saved_states_mib` (a KV state saved per system prompt and restored when
               the arms switch: engines/llama_states.py)
  b=N nostate  the same blocks with `saved_states_mib = 0`: every switch re-reads the arm

Orders go round-robin, reversed every other rep, so load on this shared machine hits them
alike. Printed per rep and as the median with its min-max spread, each order ÷ grouped:

  whole process   seconds of the process
  engine time     sum of the per-unit engine latencies (results.jsonl latency_ms): the calls
                  themselves, where a lost prefix cache shows
  prompt evals    prompt tokens llama.cpp actually evaluated (timings.prompt_eval_tokens):
                  the work a block edge adds, independent of the machine's noise
  same answers    units whose text is identical to the grouped order's
  token model     1 + (extra prompt tokens evaluated) x (marginal seconds per prompt token,
                  the slope of prompt_eval_ms on prompt_eval_tokens over the rep's units)
                  / grouped engine time: the cost of the blocks without the machine's noise

    python benchmarks/bench_arm_blocks.py --interleaved [--items 40] [--reps 1] [--blocks 32]
                                          [--states on,off] [--prompts worked-examples]

the same orders in one process, one engine (its own `Llama`) per order, stepping
round-robin one request at a time, the engines' order reversed every other step: a burst of
load on the shared machine falls on every order within seconds, so engine-time ratios
resolve a few percent where whole processes minutes apart cannot. Printed per rep, each
order ÷ grouped: engine time (sum of latencies), prompt-eval time, decode time, prompt
tokens evaluated, answers identical to the grouped order's. Model load is not timed.

    python benchmarks/bench_arm_blocks.py --count [--items 0] [--blocks 32,16,8,4,1]
                                          [--prompts worked-examples,default]

needs no timing: the planned order of every unit (evalcli's own plan and renderer, the
demo model's tokenizer only) and llama-cpp-python's prefix rule — a prompt reuses the KV
cache for the tokens it shares with the start of the previous one — give the prompt tokens
each order makes llama.cpp evaluate, for every block size and prompt set (0 items = all),
without saved states and with them (on an arm switch the arm's state saved at its last
switch is restored when it shares more with the prompt than the context does: the rule of
engines/llama_states.py, budget unlimited). The measured runs check it (`prompt evals`).
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
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


def _profile(tmp: Path, block: int, states: bool = True) -> Path:
    text = (ROOT / "profiles" / "local-llamacpp.toml").read_text(encoding="utf-8")
    if not states:
        text = text.replace("[engine.options]\n", "[engine.options]\nsaved_states_mib = 0\n", 1)
        assert "saved_states_mib = 0" in text, "the demo profile has no [engine.options] table"
    path = tmp / f"blocks-{block}{'' if states else '-nostate'}.toml"
    path.write_text(text + f"\n[run]\narm_block_items = {block}\n", encoding="utf-8")
    return path


class Order(NamedTuple):
    block: int
    states: bool

    @property
    def label(self) -> str:
        return "grouped" if self.block == 0 else \
            f"b={self.block}{'' if self.states else ' nostate'}"


GROUPED = Order(0, False)


def _run(tmp: Path, order: Order, items: int, rep: int) -> tuple[float, dict]:
    run_id = f"b{order.block}{'s' if order.states else 'n'}-{rep}"
    cmd = [sys.executable, "-m", "evalcli", "run", "--profile",
           str(_profile(tmp, order.block, order.states)),
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


def _evaluated(prompts: list[tuple[str, list[int]]], states: bool) -> int:
    """Prompt tokens llama.cpp evaluates for (system text, prompt tokens) in this order: a
    prompt reuses what it shares with the start of the context; with saved states, an arm
    switch saves the context under the arm it held and restores the new arm's saved context
    when that shares more with the prompt (engines/llama_states.py, budget unlimited)."""
    from engines.llama_states import shared_prefix

    held: list[int] = []
    saved: dict[str, list[int]] = {}
    current, evaluated = None, 0
    for key, tokens in prompts:
        if states and key != current:
            if current is not None:
                saved[current] = held
            current = key
            if key in saved and shared_prefix(saved[key], tokens) > shared_prefix(held, tokens):
                held = saved[key]
        evaluated += len(tokens) - shared_prefix(tokens, held)
        held = tokens
    return evaluated


def _plans(tmp: Path, blocks: list[int], items: int, prompts: str):
    """(engine options, requests in planned order) for grouped (block 0) and each block:
    evalcli's own set-up and plan, no process started."""
    import msgspec

    from evalcli.inputs.config import load_profile, replace_run
    from evalcli.run.pipeline import build_setup
    from evalcli.store.rundir import RunDir

    out = {}
    for block in [0, *blocks]:
        loaded = load_profile(str(_profile(tmp, block)))
        profile = replace_run(loaded.profile, limit_items=items)
        profile = msgspec.structs.replace(profile, prompts=msgspec.structs.replace(
            profile.prompts, set=prompts))
        loaded = msgspec.structs.replace(loaded, profile=profile)
        setup = build_setup(loaded, profile, RunDir(tmp / f"r{prompts}{block}", "p"))
        out[block] = (setup.engine.options, [setup.plan.request(u) for u in setup.plan.units])
    return out


def _system(request) -> str:
    return "\n".join(m.content for m in request.messages if m.role == "system")


def _count(args) -> None:
    import llama_cpp

    from engines.llama_cpp import install_prompt_format, prompt_token_ids

    blocks = [int(b) for b in args.blocks.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        llm = options = template = None
        print("| prompt set | items | units | grouped: prompt tokens evaluated | "
              + " | ".join(f"b={b} ÷ grouped, no states / saved states" for b in blocks)
              + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(blocks))
        for prompts in args.prompts.split(","):
            cells, base = [], None
            for block, (options, requests) in _plans(tmp, blocks, args.items, prompts).items():
                if llm is None:
                    llm = llama_cpp.Llama(model_path=options.model, vocab_only=True,
                                          verbose=False)
                    template = install_prompt_format(llm, options)
                order = [(_system(r), prompt_token_ids(llm, template, options, r.messages))
                         for r in requests]
                if block == 0:
                    base, units = _evaluated(order, False), len(order)
                    cells.append(f"{base:,}")
                else:
                    cells.append(f"{_evaluated(order, False) / base:.3f} / "
                                 f"{_evaluated(order, True) / base:.3f}")
            print(f"| {prompts} | {units // 2} | {units} | " + " | ".join(cells) + " |",
                  flush=True)


def _interleaved(args) -> None:
    """One process, one engine per order, stepping round-robin one request at a time (the
    order of the engines reversed every other step): load on the machine falls on every
    order within seconds, so engine-time ratios resolve a few percent on a busy VM."""
    import os

    import msgspec

    from engines.llama_cpp import LlamaCppEngine

    states = [{"on": True, "off": False}[s] for s in args.states.split(",")]
    blocked = [Order(int(b), st) for b in args.blocks.split(",") for st in states]
    orders = [GROUPED, *blocked]
    ratios: dict[Order, dict[str, list[float]]] = {
        o: {"engine": [], "prompt": [], "decode": [], "evals": []} for o in blocked}
    with tempfile.TemporaryDirectory() as tmp:
        plans = _plans(Path(tmp), sorted({o.block for o in blocked}), args.items,
                       args.prompts.split(",")[0])
        for rep in range(args.reps):
            engines = {}
            for o in orders:
                options = msgspec.structs.replace(
                    plans[o.block][0], verbose=False, n_threads=args.threads or os.cpu_count(),
                    **({} if o.states else {"saved_states_mib": 0}))
                engines[o] = LlamaCppEngine(options)
            sums = {o: {"engine": 0.0, "prompt": 0.0, "decode": 0.0, "evals": 0.0,
                        "eval_tokens": 0.0} for o in orders}
            texts: dict[Order, dict[str, str]] = {o: {} for o in orders}
            try:
                for step in range(len(plans[0][1])):
                    for o in orders if step % 2 == 0 else orders[::-1]:
                        request = plans[o.block][1][step]
                        c = engines[o].generate(request)
                        t = sums[o]
                        t["engine"] += c.latency_ms
                        t["prompt"] += c.timings.get("prompt_eval_ms", 0.0)
                        t["decode"] += c.timings.get("eval_ms", 0.0)
                        t["evals"] += c.timings.get("prompt_eval_tokens", 0.0)
                        t["eval_tokens"] += c.timings.get("eval_tokens", 0.0)
                        texts[o][request.unit_id] = c.text
            finally:
                for engine in engines.values():
                    engine.close()
            g = sums[GROUPED]
            line = [f"rep {rep + 1}: grouped engine {g['engine'] / 1000:.1f} s (prompt "
                    f"{g['prompt'] / 1000:.1f} s for {g['evals']:.0f} tokens, decode "
                    f"{g['decode'] / 1000:.1f} s for {g['eval_tokens']:.0f} tokens)"]
            for o in blocked:
                t, r = sums[o], ratios[o]
                for k in r:
                    r[k].append(t[k] / g[k] if g[k] else float("nan"))
                same = sum(texts[o][cid] == text for cid, text in texts[GROUPED].items())
                line.append(f"{o.label}: engine {t['engine'] / 1000:.1f} s "
                            f"({r['engine'][-1]:.3f}), prompt {t['prompt'] / 1000:.1f} s "
                            f"({r['prompt'][-1]:.3f}) for {t['evals']:.0f} tokens "
                            f"({r['evals'][-1]:.3f}), decode {r['decode'][-1]:.3f}, "
                            f"same answers {same}/{len(texts[GROUPED])}")
            print("; ".join(line), flush=True)
    for o in blocked:
        r = ratios[o]
        print(f"{o.label} / grouped, interleaved (median, min-max of {args.reps}): engine "
              f"time {_spread(r['engine'])}, prompt eval time {_spread(r['prompt'])}, "
              f"decode time {_spread(r['decode'])}, prompt tokens {_spread(r['evals'])}")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--blocks", default="32", help="arm_block_items values to compare")
    parser.add_argument("--states", default="on,off",
                        help="the blocked orders with saved states (on), without (off), or both")
    parser.add_argument("--count", action="store_true",
                        help="count the prompt tokens each order evaluates (no timing)")
    parser.add_argument("--prompts", default="worked-examples,default",
                        help="--count: the prompt sets; --interleaved: the first of them")
    parser.add_argument("--interleaved", action="store_true",
                        help="one process, one engine per order, round-robin per request")
    parser.add_argument("--threads", type=int, default=0,
                        help="--interleaved: llama.cpp threads (0 = every core)")
    args = parser.parse_args()
    if args.count:
        _count(args)
        return
    if args.interleaved:
        _interleaved(args)
        return
    states = [{"on": True, "off": False}[s] for s in args.states.split(",")]
    blocked = [Order(int(b), st) for b in args.blocks.split(",") for st in states]
    orders = [GROUPED, *blocked]
    ratios: dict[Order, dict[str, list[float]]] = {
        o: {"s": [], "engine": [], "evals": [], "model": []} for o in blocked}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for rep in range(args.reps):
            order = orders if rep % 2 == 0 else orders[::-1]
            got = {o: _run(tmp, o, args.items, rep) for o in order}
            g_s, grouped = got[GROUPED]
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
            line = [f"rep {rep + 1} ({', '.join(o.label for o in order)}): grouped {g_s:.1f} s, "
                    f"engine {g_engine:.1f} s, {g_evals} prompt tokens evaluated"]
            for o in blocked:
                s, units = got[o]
                engine = sum(v[1] for v in units.values())
                evals = sum(v[2] for v in units.values())
                same = sum(1 for cid, v in units.items() if grouped.get(cid, ("",))[0] == v[0])
                r = ratios[o]
                r["s"].append(s / g_s)
                r["engine"].append(engine / g_engine)
                r["evals"].append(evals / g_evals if g_evals else float("nan"))
                # what the extra tokens cost at the marginal rate, over the grouped engine time
                r["model"].append(1 + (evals - g_evals) * slope / g_engine)
                line.append(f"{o.label} {s:.1f} s ({s / g_s:.3f}), engine {engine:.1f} s "
                            f"({engine / g_engine:.3f}), {evals} evaluated "
                            f"({r['evals'][-1]:.3f}; x {1000 * slope:.1f} ms a token -> "
                            f"{r['model'][-1]:.4f}), same answers {same}/{len(units)}")
            print("; ".join(line), flush=True)
    for o in blocked:
        r = ratios[o]
        print(f"{o.label} / grouped (median, min-max of {args.reps}): whole process "
              f"{_spread(r['s'])}, engine time {_spread(r['engine'])}, "
              f"prompt tokens evaluated {_spread(r['evals'])}, their cost at the "
              f"marginal ms per token {_spread(r['model'])}")


if __name__ == "__main__":
    main()
