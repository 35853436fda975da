"""The one line every run and resume ends with, counted from the results files:

    292 units: 288 ok, 4 failed (3 timeout, 1 http_5xx) in 9m12s - 0.53 units/s; report: ...

A sequential run says its verdict first (evalcli.report.sequential), and counts the units it
skipped by stopping there:

    sequential verdict: stopped after 40 of 146 items: treatment better, anytime-valid ...
    292 units: 80 ok, 0 failed, 212 skipped (stopped at the verdict) in 3.1s; report: ...

Counts are over the units the plan runs (a control shared by a sweep counts once), from the
latest record per unit in each trial's results.jsonl (the source of truth); the rate is over
the units this command finished. ASCII only: a cp1252 console must be able to print it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evalcli.run.pipeline import Setup
from evalcli.store.manifest import Manifest, read_manifest, stopped_at_verdict
from evalcli.store.results import LatestResults


@dataclass
class Summary:
    units: int
    ok: int = 0
    failed: int = 0
    kinds: Counter = field(default_factory=Counter)
    skipped: int = 0  # a sequential run stopped at its verdict before these units

    @property
    def pending(self) -> int:
        return self.units - self.ok - self.failed - self.skipped

    def counts(self) -> str:
        text = f"{self.units} units: {self.ok} ok, {self.failed} failed"
        if self.kinds:
            text += " (" + ", ".join(f"{n} {kind}" for kind, n in self.kinds.most_common()) + ")"
        if self.skipped:
            text += f", {self.skipped} skipped (stopped at the verdict)"
        if self.pending:
            text += f", {self.pending} pending"
        return text

    def line(self, elapsed_s: float, finished_here: int, report: str) -> str:
        rate = f" - {finished_here / elapsed_s:.2f} units/s" if finished_here and elapsed_s > 0 \
            else ""
        return f"{self.counts()} in {format_duration(elapsed_s)}{rate}; report: {report}"


def result_lines(setup: Setup) -> int:
    """Records in the run's results files (one per finished unit, retries included)."""
    total = 0
    for trial in setup.plan.trials:
        path = setup.run_dir.results(trial.slug)
        if path.is_file():
            with open(path, "rb") as fh:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return total


def summarize(setup: Setup) -> Summary:
    summary = Summary(units=len(setup.plan.units))
    by_trial: dict[str, LatestResults] = {}
    try:
        for unit in setup.plan.units:
            if unit.trial not in by_trial:
                by_trial[unit.trial] = LatestResults(setup.run_dir.results(unit.trial))
            results = by_trial[unit.trial]
            status = results.status(unit.custom_id)
            if status == "ok":
                summary.ok += 1
            elif status == "failed":
                summary.failed += 1
                summary.kinds[results.get(unit.custom_id).error_kind or "error"] += 1
    finally:
        for results in by_trial.values():
            results.close()
    manifest = _manifest(setup)
    if manifest is not None and stopped_at_verdict(manifest):
        summary.skipped = summary.units - summary.ok - summary.failed
    return summary


def reuse_lines(manifest: Manifest, units: int) -> list[str]:
    """The answers reused and the determinism check, one line each (when there were any)."""
    import msgspec

    from evalcli.report.setup_facts import determinism_sentence as determinism
    from evalcli.report.setup_facts import reuse_sentence

    lines = []
    if not isinstance(manifest.reuse, msgspec.UnsetType):
        said = reuse_sentence(manifest.reuse, units)
        lines.append(f"reuse: {said or f'0 of {units} answers reused'}; "
                     f"{manifest.reuse.stored} new answer(s) stored")
    if not isinstance(manifest.determinism, msgspec.UnsetType):
        lines.append(f"determinism check: {determinism(manifest.determinism)}")
    return lines


def _manifest(setup: Setup) -> Manifest | None:
    try:
        return read_manifest(setup.run_dir.manifest)
    except (OSError, ValueError):
        return None


def format_duration(seconds: float) -> str:
    """4.2s, 9m12s, 1h05m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def report_label(report: Path, stopped_before: str = "") -> str:
    if report.exists():
        return str(report)
    return f"not written ({stopped_before})" if stopped_before else "not written"


def end_of_run(out, setup: Setup, status: str, started: float, *, finished_here: int,
               to: str | None = None) -> None:
    """Print the run id, the summary line and the report paths; then the exit status: a
    stopped run raises StopRequested (130), a run with failed units UnitsFailed (5)."""
    from evalcli.errors import StopRequested, UnitsFailed

    rd = setup.run_dir
    summary = summarize(setup)
    why = "the run was stopped" if status == "stopped" else f"--to {to}" if to else ""
    out.print(f"run id: {rd.run_id}", markup=False)
    manifest = _manifest(setup)
    if manifest is not None and manifest.stopping and status != "stopped":
        from evalcli.report.sequential import sentence  # its statistics import scipy

        out.print(f"sequential verdict: {sentence(manifest.stopping)}", markup=False)
    out.print(summary.line(time.monotonic() - started, finished_here,
                           report_label(rd.report_md, why)), markup=False)
    if manifest is not None:
        for line in reuse_lines(manifest, summary.units):
            out.print(line, markup=False)
    if rd.report_html.exists() and status != "stopped":
        out.print(f"report (html): {rd.report_html}", markup=False)
    if status == "stopped":
        raise StopRequested(f"run {rd.run_id} stopped; resume with: evalcli resume {rd.run_id}")
    if summary.failed:
        kinds = ", ".join(f"{n} {kind}" for kind, n in summary.kinds.most_common())
        raise UnitsFailed(
            f"{summary.failed} of {summary.units} units failed ({kinds}); they are listed in "
            f"the report and in predictions.csv - retry them with: evalcli resume {rd.run_id}")
