"""Start-up time of each evalcli command, against `python -c "import typer, rich"`.

    python benchmarks/bench_startup.py [--reps R] [--commands "stop --help" "runs" ...]
                                       [--before DIR]

Each command is a fresh `python -m evalcli ...` process (what a user waits for). The
baseline is a process that only imports typer and rich, which every Typer CLI with rich
output pays. Runs go round-robin (baseline, command 1, command 2, ..., baseline, ...) so
that load on the machine hits every command alike. Printed per command: the median wall time
and the ratio ours ÷ baseline (median of the per-round ratios, with the 10th-90th percentile
spread). Target: `evalcli stop --help` under 2× the baseline. For reference the first row is
what a plain Typer app pays: a one-command app printing its --help (Typer 0.2x builds a
pydantic adapter for its unset --help flag and renders help with rich.markdown; neither is in
the baseline, and evalcli's --help avoids both: evalcli/cli/__init__.py).

`runs`, `show` and `stop` run against a temporary --runs-dir holding one finished mock run
`R` (made before the timing: `evalcli run --profile mock --limit-items 2`), so `runs`
lists it, `show R` prints its tables and `stop R` reads its run.json; `show x`/`stop x`
(a missing run: the one-line error) and `runs` of an empty folder (`runs (empty)`) are
there too. Issue #28's target: `runs`, `show R`, `stop R` under 2× the baseline.

Every process gets PYTHONPYCACHEPREFIX (a temporary folder) and no PYTHONDONTWRITEBYTECODE:
the warm-up round writes the .pyc files of every module there, and every timed process
loads them, as an installed evalcli does (with PYTHONDONTWRITEBYTECODE set, each run would
compile evalcli's sources again — tens of ms that no user pays — while typer and rich load
their installed .pyc files).

`--before DIR` times each evalcli command a second time with PYTHONPATH=DIR (another
checkout, e.g. a git worktree of main) in the same rounds: rows "before: …", under the same
load as the rows of this checkout. The run for `show R` is made by this checkout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = [sys.executable, "-c", "import typer, rich"]
# the floor Typer itself sets: a one-command app with a str and a Path option, its --help
TYPER_HELLO = (
    "import pathlib, typer\n"
    "app = typer.Typer(add_completion=False)\n"
    "@app.command()\n"
    "def stop(run_id: str, runs_dir: pathlib.Path = pathlib.Path('runs')) -> None:\n"
    "    'Stop.'\n"
    "app()\n"
)
DEFAULT = ("--help", "stop --help", "show --help", "runs --help", "runs", "show R", "stop R",
           "runs (empty)", "show x", "stop x", "run --help", "compare --help")


def _wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=env)
    return time.perf_counter() - t0


def _command(spec: str, runs_dir: str, empty_dir: str) -> list[str]:
    args = spec.split()
    if args[-1] == "(empty)":
        args = [*args[:-1], "--runs-dir", empty_dir]
    elif args[0] in ("runs", "show", "stop") and "--help" not in args:
        args += ["--runs-dir", runs_dir]
    return [sys.executable, "-m", "evalcli", *args]


def _make_run(runs_dir: str) -> None:
    subprocess.run([sys.executable, "-m", "evalcli", "run", "--profile", "mock", "--limit-items",
                    "2", "--runs-dir", runs_dir, "--run-id", "R"], stdout=subprocess.DEVNULL,
                   check=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--commands", nargs="+", default=list(DEFAULT))
    parser.add_argument("--before", metavar="DIR", help="also time the commands of this "
                        "checkout (PYTHONPATH=DIR), in the same rounds")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as runs_dir, tempfile.TemporaryDirectory() as empty_dir, \
            tempfile.TemporaryDirectory() as pycache:
        _make_run(runs_dir)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        cmds = {"(typer hello --help)": ([sys.executable, "-c", TYPER_HELLO, "--help"], env)}
        for spec in ns.commands:
            cmds[f"evalcli {spec}"] = (_command(spec, runs_dir, empty_dir), env)
            if ns.before:
                cmds[f"before: evalcli {spec}"] = (_command(spec, runs_dir, empty_dir),
                                                   {**env, "PYTHONPATH": ns.before})
        for cmd, cmd_env in [(BASELINE, env), *cmds.values()]:  # file cache and .pyc files
            _wall(cmd, cmd_env)
        base: list[float] = []
        ours: dict[str, list[float]] = {label: [] for label in cmds}
        for _ in range(ns.reps):
            base.append(_wall(BASELINE, env))
            for label, (cmd, cmd_env) in cmds.items():
                ours[label].append(_wall(cmd, cmd_env))
    load = f"; load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"baseline `import typer, rich`: median {statistics.median(base) * 1000:.0f} ms "
          f"({ns.reps} rounds{load})")
    print("| command | median ms | ours ÷ baseline (median) | p10–p90 |")
    print("|---|---:|---:|---:|")
    for label, times in ours.items():
        ratios = [t / b for t, b in zip(times, base, strict=True)]
        print(f"| {label} | {statistics.median(times) * 1000:.0f} | "
              f"{statistics.median(ratios):.2f} | {_pct(ratios, 0.1):.2f}–{_pct(ratios, 0.9):.2f} |")


if __name__ == "__main__":
    main()
