"""evalcli vs the raw engine loop, on the same units, in one run: the ratio is the overhead.

    python benchmarks/bench_overhead.py --engine llama_cpp --items 10      # the demo model
    python benchmarks/bench_overhead.py --engine mock --items 146          # pure plumbing

Three measurements over the same planned requests (items × control/treatment, T = 0):
  raw grouped       one engine in this process, requests in evalcli's order (grouped by
                    system prompt), model load included
  raw interleaved   the same, control and treatment alternating per item: what prefix-KV
                    reuse saves (llama.cpp only reuses the immediately preceding prompt)
  evalcli           the generate stage: spawned worker, msgpack pipes, results.jsonl, manifest
Timings on a shared, noisy machine: compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(engine: str, items: int, tmp: Path):
    import msgspec

    from evalcli.inputs.config import load_profile, replace_engine, replace_run
    from evalcli.run.pipeline import build_setup
    from evalcli.store.rundir import RunDir

    loaded = load_profile("local-llamacpp" if engine == "llama_cpp" else "mock")
    profile = replace_run(replace_engine(loaded.profile, workers=1), limit_items=items)
    if engine == "mock":
        profile = replace_engine(profile, options={})
    loaded = msgspec.structs.replace(loaded, profile=profile)
    return build_setup(loaded, profile, RunDir(tmp / "runs", "bench"))


def _raw(setup, requests) -> tuple[float, float]:
    started = time.perf_counter()
    engine = setup.engine.cls(setup.engine.options, 0)
    loaded = time.perf_counter()
    for request in requests:
        engine.generate(request)
    done = time.perf_counter()
    engine.close()
    return loaded - started, done - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("llama_cpp", "mock"), default="llama_cpp")
    parser.add_argument("--items", type=int, default=10)
    args = parser.parse_args()
    from rich.console import Console

    from evalcli.run.generate import generate
    from evalcli.run.pipeline import create_run

    with tempfile.TemporaryDirectory() as tmp:
        setup = _setup(args.engine, args.items, Path(tmp))
        units = setup.plan.units
        grouped = [setup.plan.request(u) for u in units]
        by_item: dict = {}
        for unit, request in zip(units, grouped, strict=True):
            by_item.setdefault((unit.item_index, unit.sample_index), []).append(request)
        interleaved = [r for pair in by_item.values() for r in pair]
        load_g, total_g = _raw(setup, grouped)
        load_i, total_i = _raw(setup, interleaved)
        manifest = create_run(setup)
        started = time.perf_counter()
        status = generate(setup, manifest, Console(file=open(Path(tmp) / "log", "w")),
                          live=False)
        total_e = time.perf_counter() - started
        assert status == "completed"
    n = len(units)
    print(f"{args.engine}: {n} units ({args.items} items x 2 conditions), 1 worker")
    print(f"  raw grouped      {total_g:8.2f} s  (load {load_g:.2f} s)  {n / total_g:7.2f} units/s")
    print(f"  raw interleaved  {total_i:8.2f} s  (load {load_i:.2f} s)  {n / total_i:7.2f} units/s"
          f"  -> grouped is {total_i / total_g:.2f}x faster")
    print(f"  evalcli          {total_e:8.2f} s  (spawn + load inside)   {n / total_e:7.2f} units/s"
          f"  -> evalcli / raw grouped = {total_e / total_g:.2f}x")


if __name__ == "__main__":
    main()
