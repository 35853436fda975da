"""`evalcli compare RUN_A RUN_B [RUN_C …]`: runs paired on shared items and conditions, with
the run report's statistics; writes compare.md, compare.html and compare.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer

from evalcli.cli.common import JsonFlag, RunsDir, console

RunRefs = Annotated[list[str], typer.Argument(
    metavar="RUN",
    help="Two or more runs: run ids in --runs-dir, run folders, or archive files.")]
Metric = Annotated[list[str] | None, typer.Option(
    "--metric", help="Compare only this metric (EM, F1, abstain, false_answers); repeatable.")]
Pair = Annotated[list[str] | None, typer.Option(
    "--pair", help="A pair of cells to compare, B against A: 'RUN[/TRIAL]:COND,RUN[/TRIAL]:COND' "
    "(RUN = 1, 2, … or a run id); repeatable. Default: every run against the first, "
    "condition by condition.")]
OutDir = Annotated[Path, typer.Option("--out", help="Folder for compare.md/.html/.json.")]


def compare(runs: RunRefs, runs_dir: RunsDir = Path("runs"), metric: Metric = None,
            pair: Pair = None, out: OutDir = Path("compare"), as_json: JsonFlag = False) -> None:
    """Compare runs on the items they share: a matrix of scores and paired differences."""
    # the statistics (numpy, scipy) are imported here, not for `compare --help`
    from evalcli.analysis.compare import compare as compare_runs
    from evalcli.report.compare import render_compare_html, render_compare_md
    from evalcli.store.fsutil import atomic_write_text

    result = compare_runs(runs, runs_dir=runs_dir, pair_specs=pair or [],
                          metric_names=metric or []).result
    assert result is not None
    text = msgspec.json.format(msgspec.json.encode(result), indent=2).decode("utf-8")
    out = out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "compare.json", text + "\n")
    atomic_write_text(out / "compare.md", render_compare_md(result))
    atomic_write_text(out / "compare.html", render_compare_html(result))
    if as_json:
        typer.echo(text)
        return
    line = console()
    line.print(f"compared {len(result.runs)} runs: {len(result.pairs)} pair(s), "
               f"{result.common_items} items shared by all", markup=False)
    for o in result.items:
        if o.changed:
            line.print(f"note: {o.changed} item(s) changed between {o.first} and "
                       f"{o.second} (same id, different question) — left out", markup=False)
    line.print(f"report: {out / 'compare.md'}", markup=False)
    line.print(f"html:   {out / 'compare.html'}", markup=False)
