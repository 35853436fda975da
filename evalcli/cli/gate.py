"""`evalcli gate RUN`: pass (exit 0) or fail (exit 6) a finished run against criteria in the
report's words — for CI; writes JUnit XML and a Markdown summary (docs/ci.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import RunsDir, console

RunRef = Annotated[str, typer.Argument(
    metavar="RUN", help="A finished run: a run id in --runs-dir, a run folder, or an archive.")]
NonInferior = Annotated[list[str] | None, typer.Option(
    "--non-inferior", metavar="METRIC:POINTS",
    help="Treatment not worse than control on METRIC (em, f1, false_answers) by more than "
    "POINTS percentage points: every comparison's 95% interval must show it (an underpowered "
    "run fails). Repeatable.")]
NotWorse = Annotated[list[str] | None, typer.Option(
    "--not-worse", metavar="METRIC",
    help="METRIC not significantly worse (the report's verdict). Passes an underpowered run: "
    "prefer --non-inferior. Repeatable.")]


def gate(
    run: RunRef,
    runs_dir: RunsDir = Path("runs"),
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", metavar="PROFILE",
        help="Take the criteria from this profile's [gate] (default: the run's own).")] = None,
    non_inferior: NonInferior = None,
    not_worse: NotWorse = None,
    no_failed_units: Annotated[bool, typer.Option(
        "--no-failed-units", help="Fail when any unit failed.")] = False,
    max_truncated: Annotated[float | None, typer.Option(
        "--max-truncated", metavar="PERCENT",
        help="Fail when an arm has more answers stopped at max_tokens than this.")] = None,
    max_empty: Annotated[float | None, typer.Option(
        "--max-empty", metavar="PERCENT",
        help="Fail when an arm has more empty answers than this.")] = None,
    junit: Annotated[Path | None, typer.Option(
        "--junit", metavar="PATH", help="Write the result as JUnit XML (one test per "
        "criterion).")] = None,
    summary: Annotated[Path | None, typer.Option(
        "--summary", metavar="PATH", help="Write a Markdown summary (default: "
        "$GITHUB_STEP_SUMMARY when it is set).")] = None,
) -> None:
    """Pass or fail a finished run against criteria (exit 0 pass, 6 fail): non-inferiority
    margins, no significant worsening, no failed units, few cut or empty answers."""
    import os
    import tempfile

    from evalcli.run.gate import criteria, load_gate_inputs
    from evalcli.store.fsutil import atomic_write_text

    out = console()
    with tempfile.TemporaryDirectory(prefix="evalcli-gate-") as scratch:
        inputs = load_gate_inputs(run, runs_dir, Path(scratch))
        config = criteria(inputs.manifest, profile, non_inferior=non_inferior or [],
                          not_worse=not_worse or [], no_failed_units=no_failed_units,
                          max_truncated=max_truncated, max_empty=max_empty)
        from evalcli.report.gate import GATE_FAILED, evaluate, junit_xml, lines, markdown_summary

        checks = evaluate(config, significance=inputs.significance, trials=inputs.trials,
                          manifest=inputs.manifest)
    run_id = inputs.manifest.run_id
    for line in lines(checks):
        out.print(line, markup=False)
    if junit is not None:
        atomic_write_text(junit.expanduser(), junit_xml(checks, run_id))
    step_summary = summary or (Path(os.environ["GITHUB_STEP_SUMMARY"])
                               if os.environ.get("GITHUB_STEP_SUMMARY") else None)
    if step_summary is not None:  # appended: a job's summary collects every step's
        try:
            with open(step_summary.expanduser(), "a", encoding="utf-8") as fh:
                fh.write(markdown_summary(checks, run_id) + "\n")
        except OSError as exc:
            from evalcli.store.fsutil import write_error

            raise write_error(step_summary, exc) from None
    passed = all(c.passed for c in checks)
    out.print(f"gate {'passed' if passed else 'FAILED'}: {sum(c.passed for c in checks)} of "
              f"{len(checks)} criteria met (run {run_id})", markup=False)
    if not passed:
        raise typer.Exit(GATE_FAILED)
