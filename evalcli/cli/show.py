"""`evalcli show RUN_ID`: where one run stands — stages, per-trial counts, failed units, paths.

Counts come from the trials' results.jsonl (the source of truth), not from run.json, which
may lag by a second or be stale after the supervisor was killed.
"""

from __future__ import annotations

from pathlib import Path

import typer

from evalcli.cli.common import JsonFlag, RunIdArg, RunsDir, console, print_table
from evalcli.store.runinfo import (
    RunSummary,
    open_run,
    summarize,
    summarize_archive,
    to_json,
)


def show(run_id: RunIdArg, runs_dir: RunsDir = Path("runs"), as_json: JsonFlag = False) -> None:
    """Show one run (a run id, or an archive file written by evalcli archive): status, stages,
    units per trial, failed units, and where its files are."""
    if _is_archive(Path(run_id)):
        summary = summarize_archive(Path(run_id))
    else:
        summary = summarize(open_run(runs_dir, run_id))
    if as_json:
        typer.echo(to_json(summary))
    else:
        _print(summary)
    if summary.damaged:  # shown with run.json's counts, but the run needs repair: exit 4
        from evalcli.errors import RunError

        raise RunError(next(w for w in summary.warnings if w.startswith(summary.damaged[0])))


def _is_archive(path: Path) -> bool:
    """An archive file; a run id is not a file, and then the archive code is not imported."""
    try:
        if not path.is_file():
            return False
    except (OSError, ValueError):  # a name too long for a path, a NUL in it, ...
        return False
    from evalcli.store.archive import is_archive

    return is_archive(path)


def _print(s: RunSummary) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()

    def line(text: str) -> None:
        out.print(text, markup=False)

    line(f"run {s.run_id}: {s.status}" + (f" — {s.error}" if s.error else ""))
    line(f"profile: {s.profile} ({s.profile_source})")
    line(f"created: {s.created_at}   updated: {s.updated_at or '—'}")
    line(f"units: {s.done} done, {s.failed} failed, {s.pending} pending of {s.planned}"
         + (f" ({s.skipped} skipped: stopped at the verdict)" if s.skipped else ""))
    if s.stop_requested and s.status not in ("stopped", "completed"):
        line(f"stop requested: in-flight units finish, then the run stops "
             f"(resume with: evalcli resume {s.run_id})")
    if s.run_json_counts_stale:
        line("note: run.json's counts lag the results files; the counts shown are from "
             "results.jsonl")

    stages = Table(title="stages", title_justify="left")
    for name in ("stage", "status", "start", "end", "artifacts"):
        stages.add_column(name, no_wrap=name != "artifacts")
    for name, stage in s.stages.items():
        status = stage.status + (f": {stage.error}" if stage.error else "")
        stages.add_row(*(Text(c) for c in (name, status, stage.started_at or "—",
                                            stage.ended_at or "—",
                                            ", ".join(stage.artifacts) or "—")))
    print_table(out, stages)

    trials = Table(title="trials", title_justify="left")
    trials.add_column("trial")
    for name in ("temp", "planned", "done", "failed", "pending"):
        trials.add_column(name, justify="right", no_wrap=True)
    for slug, t in s.trials.items():
        trials.add_row(*(Text(c) for c in (slug, f"{t.temperature:g}", str(t.planned),
                                            str(t.done), str(t.failed), str(t.pending))))
    print_table(out, trials)

    if s.failed_units:
        line(f"failed units ({len(s.failed_units)}):")
        for unit in s.failed_units:
            line(f"  {unit.custom_id}  [{unit.trial}]  attempts {unit.attempts}: "
                 f"{unit.error or unit.error_kind or 'no error recorded'}")
    for warning in s.warnings:
        line(f"warning: {warning}")

    if s.archive:
        line(f"archive: {s.archive} (checked against its sha256 manifest)")
    line(f"run dir: {s.paths['run_dir']}")
    report = s.paths["report"]
    line(f"report:  {report}" + ("" if s.report_written else " (not written yet)"))
    line(f"logs:    {s.paths['logs']}")
    if s.status != "completed" and s.pending + s.failed and not s.archive:
        line(f"resume:  evalcli resume {s.run_id}")
