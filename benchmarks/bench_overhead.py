"""evalcli vs the raw llama-cpp-python loop, on the same requests: the ratio is the overhead.

    python benchmarks/bench_overhead.py [--items 40] [--reps 3] [--workers 1]
                                        [--n-gpu-layers 0] [--model PATH] [--full]

The same planned requests (items x control/treatment of the demo profile `local-llamacpp`,
T = 0, in evalcli's order: by system prompt, arms alternating in blocks of `[run]
arm_block_items` items — bench_arm_blocks.py measures what that costs) two ways, each a fresh process timed
from start to exit, model load included:

  raw       a plain loop in one process: llama_cpp.Llama(...) with the options evalcli
            resolved (n_ctx, n_threads, n_batch, n_gpu_layers, flash_attn), then per request
            the prompt tokens (evalcli's renderer, so the prompts are the same) and
            create_completion(...) with the same sampling; nothing else
  evalcli   `evalcli run --profile local-llamacpp --limit-items N --workers W --to generate`:
            CLI, plan, spawned worker(s), msgpack pipes, results.jsonl, run.json, dashboard
            (`--full` also times the whole run: parse, score, statistics, report)
  interleaved  (`--interleaved`) the raw loop with control and treatment alternating per
            item: what grouping by system prompt saves (llama-cpp-python reuses the KV cache
            only for the prefix shared with the immediately preceding prompt)

Arms go round-robin (raw, evalcli, then evalcli, raw, ...) so that load on this shared
machine hits both alike. Printed per rep and as the median with its min-max spread:

  whole process   evalcli seconds / raw seconds               (> 1 = evalcli slower)
  engine time     sum of evalcli's per-unit engine latencies (results.jsonl latency_ms)
                  / sum of the raw loop's per-call times       (the calls themselves)
  same answers    units whose text is identical in both arms

With --workers W > 1 the raw side is still one process and one model: the ratio then says
what W workers buy on this machine (< 1 = faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _profile(n_gpu_layers: int, tmp: Path) -> Path:
    """The demo profile with n_gpu_layers set: what both arms run."""
    text = (ROOT / "profiles" / "local-llamacpp.toml").read_text(encoding="utf-8")
    assert "n_gpu_layers = 0 " in text
    path = tmp / "bench.toml"
    path.write_text(text.replace("n_gpu_layers = 0 ", f"n_gpu_layers = {n_gpu_layers} "),
                    encoding="utf-8")
    return path


def _setup(args, profile_path: Path, tmp: Path):
    import msgspec

    from evalcli.inputs.config import load_profile, replace_engine, replace_run
    from evalcli.run.pipeline import build_setup
    from evalcli.store.rundir import RunDir

    loaded = load_profile(str(profile_path))
    options = dict(loaded.profile.engine.options)
    if args.model:
        options["model"] = args.model
    profile = replace_run(replace_engine(loaded.profile, workers=args.workers, options=options),
                          limit_items=args.items)
    loaded = msgspec.structs.replace(loaded, profile=profile)
    return build_setup(loaded, profile, RunDir(tmp / "plan-runs", "plan"))


def raw_child(spec_path: str, out_path: str) -> None:
    """The raw arm, in its own process: load, loop, write texts and per-call seconds."""
    import llama_cpp
    import msgspec

    from engines.base import Request
    from engines.llama_cpp import LlamaCppEngine, install_prompt_format, prompt_token_ids

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    options = msgspec.convert(spec["options"], LlamaCppEngine.Options)
    requests = msgspec.json.decode(spec["requests"].encode(), type=list[Request])
    llm = llama_cpp.Llama(
        model_path=options.model, n_ctx=options.n_ctx, n_gpu_layers=options.n_gpu_layers,
        n_threads=options.n_threads or None, n_threads_batch=options.n_threads or None,
        n_batch=min(options.n_batch, options.n_ctx), flash_attn=options.flash_attn, seed=0,
        verbose=False)
    template = install_prompt_format(llm, options)
    out = {}
    for request in requests:
        p = request.params
        started = time.perf_counter()
        tokens = prompt_token_ids(llm, template, options, request.messages)
        result = llm.create_completion(
            prompt=tokens, temperature=p.temperature, top_p=p.top_p, top_k=p.top_k, min_p=0.0,
            typical_p=1.0, max_tokens=p.max_tokens, seed=p.seed, stop=list(p.stop),
            repeat_penalty=p.repeat_penalty, presence_penalty=0.0, frequency_penalty=0.0)
        out[request.unit_id] = [result["choices"][0]["text"], time.perf_counter() - started]
    Path(out_path).write_text(json.dumps(out), encoding="utf-8")


def _timed(cmd: list[str], **kwargs) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def run_raw(spec: Path, tmp: Path, rep: int) -> tuple[float, dict]:
    out = tmp / f"raw-{rep}.json"
    seconds = _timed([sys.executable, __file__, "--raw-child", str(spec), str(out)], cwd=ROOT)
    return seconds, json.loads(out.read_text(encoding="utf-8"))


def run_evalcli(args, tmp: Path, rep: int, full: bool) -> tuple[float, dict]:
    run_id = f"{'full' if full else 'gen'}-{rep}"
    cmd = [sys.executable, "-m", "evalcli", "run", "--profile", str(tmp / "bench.toml"),
           "--limit-items", str(args.items), "--workers", str(args.workers),
           "--runs-dir", str(tmp / "runs"), "--run-id", run_id]
    if args.model:
        cmd += ["--model", args.model]
    if not full:
        cmd += ["--to", "generate"]
    seconds = _timed(cmd, cwd=tmp)
    out = {}
    for results in (tmp / "runs" / run_id / "trials").glob("*/results.jsonl"):
        for line in results.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            out[record["custom_id"]] = [record.get("text", ""),
                                        record.get("latency_ms", 0.0) / 1000.0]
    ends = [json.loads(line) for line in
            (tmp / "runs" / run_id / "events.jsonl").read_text(encoding="utf-8").splitlines()
            if '"generate_end"' in line]
    out["_supervisor_cpu_s"] = ends[-1].get("supervisor_cpu_s", 0.0) if ends else 0.0
    return seconds, out


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--raw-child":
        raw_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--n-gpu-layers", type=int, default=0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--full", action="store_true", help="also time the whole evalcli run")
    parser.add_argument("--interleaved", action="store_true",
                        help="also time the raw loop with the arms alternating per item")
    args = parser.parse_args()
    import msgspec

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        setup = _setup(args, _profile(args.n_gpu_layers, tmp), tmp)
        requests = [setup.plan.request(u) for u in setup.plan.units]
        spec = tmp / "spec.json"
        raw_options = msgspec.structs.replace(
            setup.engine.options, n_threads=setup.engine.options.n_threads * args.workers)
        spec.write_text(json.dumps({
            "options": msgspec.to_builtins(raw_options if args.workers > 1 else
                                           setup.engine.options),
            "requests": msgspec.json.encode(requests).decode()}), encoding="utf-8")
        by_item: dict = {}
        for unit, request in zip(setup.plan.units, requests, strict=True):
            by_item.setdefault((unit.item_index, unit.sample_index), []).append(request)
        spec_i = tmp / "spec-interleaved.json"
        spec_i.write_text(json.dumps({
            **json.loads(spec.read_text(encoding="utf-8")),
            "requests": msgspec.json.encode([r for pair in by_item.values() for r in pair])
            .decode()}), encoding="utf-8")
        n = len(requests)
        print(f"{n} requests ({args.items} items x 2 conditions), evalcli with "
              f"{args.workers} worker(s) x {setup.engine.options.n_threads} threads, raw loop "
              f"{raw_options.n_threads if args.workers > 1 else setup.engine.options.n_threads}"
              f" threads, n_gpu_layers {args.n_gpu_layers}; {os.cpu_count()} CPUs")
        arms = ["raw", "evalcli"] + (["full"] if args.full else []) + \
            (["interleaved"] if args.interleaved else [])
        rows = []
        for rep in range(args.reps):
            order = arms if rep % 2 == 0 else arms[::-1]
            got = {}
            for arm in order:
                if arm in ("raw", "interleaved"):
                    got[arm] = run_raw(spec if arm == "raw" else spec_i, tmp, rep)
                else:
                    got[arm] = run_evalcli(args, tmp, rep, full=arm == "full")
            (raw_s, raw), (ev_s, ev) = got["raw"], got["evalcli"]
            sup_cpu = ev.pop("_supervisor_cpu_s")
            if "full" in got:
                got["full"][1].pop("_supervisor_cpu_s")
            same = sum(1 for cid, (text, _) in raw.items() if cid in ev and ev[cid][0] == text)
            row = {"raw_s": raw_s, "evalcli_s": ev_s, "ratio": ev_s / raw_s,
                   "engine_ratio": sum(s for _, s in ev.values()) / sum(s for _, s in raw.values()),
                   "raw_engine_s": sum(s for _, s in raw.values()),
                   "evalcli_engine_s": sum(s for _, s in ev.values()), "same": same,
                   "units": len(ev), "supervisor_core": sup_cpu / ev_s}
            if args.full:
                row["full_s"], row["full_ratio"] = got["full"][0], got["full"][0] / raw_s
            if args.interleaved:
                row["interleaved_ratio"] = got["interleaved"][0] / raw_s
            rows.append(row)
            print(f"rep {rep + 1} ({', '.join(order)}): raw {raw_s:.1f} s, evalcli {ev_s:.1f} s "
                  f"-> {row['ratio']:.3f}x; engine {row['evalcli_engine_s']:.1f} / "
                  f"{row['raw_engine_s']:.1f} s -> {row['engine_ratio']:.3f}x; same answers "
                  f"{same}/{n}; supervisor CPU {sup_cpu:.2f} s "
                  f"({100 * row['supervisor_core']:.1f}% of a core)" + (f"; full run {row['full_s']:.1f} s -> {row['full_ratio']:.3f}x"
                                   if args.full else "")
                  + (f"; raw interleaved {got['interleaved'][0]:.1f} s -> "
                     f"{row['interleaved_ratio']:.2f}x the grouped loop" if args.interleaved
                     else ""), flush=True)
        print(f"evalcli / raw, whole process (median, min-max of {args.reps}): "
              f"{_spread([r['ratio'] for r in rows])}")
        print(f"evalcli / raw, engine time: {_spread([r['engine_ratio'] for r in rows])}")
        print(f"supervisor CPU while units ran, share of one core: "
              f"{_spread([r['supervisor_core'] for r in rows])}")
        if args.full:
            print(f"evalcli full run / raw: {_spread([r['full_ratio'] for r in rows])}")
        if args.interleaved:
            print(f"raw interleaved / raw grouped: "
                  f"{_spread([r['interleaved_ratio'] for r in rows])}")
        print(f"identical answers: {min(r['same'] for r in rows)}/{n} in every rep"
              if all(r["same"] == n for r in rows) else
              f"identical answers: {[r['same'] for r in rows]} of {n} per rep")


if __name__ == "__main__":
    main()
