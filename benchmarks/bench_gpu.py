"""On a machine with an NVIDIA GPU: evalcli with 1, 2 and 4 workers vs the raw loop, all
layers offloaded (n_gpu_layers = -1).

    python benchmarks/bench_gpu.py [--items 40] [--reps 3] [--workers 1,2,4] [--model PATH]

Needs a CUDA (or Metal) build of llama-cpp-python; refuses in one line otherwise (a CPU
build would silently measure the CPU). Each row is benchmarks/bench_overhead.py's
round-robin comparison at that worker count: the raw side is always one process with one
model; evalcli runs W workers, each with its own copy of the model in VRAM. Printed: the
median whole-process ratio evalcli / raw with its min-max (< 1 = W workers are faster than
one raw loop), the engine-time ratio, the units/s, and whether every answer was identical
(greedy decoding can differ between GPU kernels and batch sizes: a difference is
reported, not hidden). Put `--model` on a larger GGUF than the demo model for a realistic GPU load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gpu_build() -> str | None:
    """None when llama-cpp-python here can offload to a GPU, else why not."""
    try:
        import llama_cpp
    except ImportError as exc:
        return f"llama-cpp-python is not installed ({exc})"
    if not llama_cpp.llama_supports_gpu_offload():
        return ("this llama-cpp-python build cannot offload to a GPU (a CPU build) — install a "
                "CUDA wheel (evalcli doctor prints the pip line)")
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    why = _gpu_build()
    if why:
        raise SystemExit(f"bench_gpu.py: {why}")
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_overhead.py"), "--items",
               str(args.items), "--reps", str(args.reps), "--workers", str(workers),
               "--n-gpu-layers", "-1"] + (["--model", args.model] if args.model else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        print(proc.stdout, end="", flush=True)
        if proc.returncode != 0:
            raise SystemExit(f"bench_overhead.py --workers {workers} failed:\n{proc.stderr[-3000:]}")
        lines = {line.split(":")[0]: line for line in proc.stdout.splitlines()}
        rows.append((workers, lines))
    print("\n| workers | evalcli / raw, whole process | engine time | answers |")
    print("|---:|---|---|---|")
    for workers, lines in rows:
        whole = lines.get("evalcli / raw, whole process (median, min-max of "
                          f"{args.reps})", "").split(": ", 1)[-1]
        engine = lines.get("evalcli / raw, engine time", "").split(": ", 1)[-1]
        same = lines.get("identical answers", "").split(": ", 1)[-1]
        print(f"| {workers} | {whole} | {engine} | {same} |")


if __name__ == "__main__":
    main()
