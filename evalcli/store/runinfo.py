"""Read-only summaries of run directories, for `evalcli runs` and `evalcli show`.

    runs/<run-id>/run.json ──────────────┐   status, profile, times, stages, planned units
    runs/<run-id>/trials/*/results.jsonl ─┴─► RunSummary ──► table / JSON
                                              done / failed / pending, failed units

run.json can lag the results files (the supervisor refreshes it at most once a second) or
be stale after the supervisor was killed, so the unit counts are recomputed from each
trial's results.jsonl — the source of truth — and run.json only supplies what was planned.
Nothing here writes: a torn last line is reported, never cut (that is resume's job).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from evalcli.errors import EvalcliError, RunError
from evalcli.store.lock import live_holder
from evalcli.store.manifest import Manifest, read_manifest, stopped_at_verdict
from evalcli.store.results import SMALL_INDEX, LatestResults
from evalcli.store.rundir import RunDir, validate_run_id


class TrialCounts(msgspec.Struct, kw_only=True):
    temperature: float
    planned: int
    done: int
    failed: int
    pending: int
    skipped: int = 0  # a sequential run stopped at its verdict before these units


class FailedUnit(msgspec.Struct, kw_only=True):
    trial: str
    custom_id: str
    attempts: int
    error: str
    error_kind: str = ""


class StageInfo(msgspec.Struct, kw_only=True):
    status: str
    started_at: str
    ended_at: str
    artifacts: list[str]
    error: str = ""


class RunSummary(msgspec.Struct, kw_only=True):
    run_id: str
    status: str  # run.json's status, or "unreadable"
    created_at: str = ""
    updated_at: str = ""
    profile: str = ""
    profile_source: str = ""
    error: str = ""  # the run's recorded error, or why run.json could not be read
    planned: int = 0
    done: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0
    stop_requested: bool = False
    run_json_counts_stale: bool = False  # run.json's counts differ from the results files
    stages: dict[str, StageInfo] = {}
    trials: dict[str, TrialCounts] = {}
    failed_units: list[FailedUnit] = []
    warnings: list[str] = []
    damaged: list[str] = []  # files that could not be read (each also in warnings)
    paths: dict[str, str] = {}
    archive: str = ""  # the archive file this summary was read from, or ""
    report_written: bool = False

    def listing(self) -> dict:
        """The fields of one row of `evalcli runs`."""
        return {"run_id": self.run_id, "created_at": self.created_at, "profile": self.profile,
                "status": self.status, "done": self.done, "total": self.planned,
                "failed": self.failed, "error": self.error}


def open_run(runs_dir: Path, run_id: str) -> RunDir:
    """The RunDir of an existing run; RunError (one line, with the fix) otherwise."""
    rd = RunDir(runs_dir, validate_run_id(run_id))
    if not rd.root.is_dir():
        folder = rd.root.parent
        raise RunError(f"no run {run_id!r} in {folder} — list the runs there with: "
                       f"evalcli runs --runs-dir {_quote(folder)}")
    return rd


def locate_run(ref: str, runs_dir: Path, scratch: Path, n: int = 0) -> tuple[RunDir, str]:
    """A run given as a run id in runs_dir, a run folder, or an archive file (unpacked into
    scratch/n); and where it came from, for the report."""
    from evalcli.store.archive import extract_run, is_archive

    path = Path(ref).expanduser()
    if is_archive(path):
        return extract_run(path, scratch / str(n)), str(path.resolve())
    if path.is_dir() and (path / "run.json").is_file():
        return RunDir(path.resolve().parent, path.resolve().name), str(path.resolve())
    try:
        rd = open_run(runs_dir, ref)
    except RunError:
        if not path.is_file():
            raise
        # a file that is no run id: an archive cut short or damaged says so, not "no run"
        return extract_run(path, scratch / str(n)), str(path.resolve())
    return rd, str(rd.root)


def load_manifest(rd: RunDir) -> Manifest:
    """run.json, or RunError naming the file and what is wrong with it."""
    try:
        return read_manifest(rd.manifest)
    except FileNotFoundError:
        raise RunError(f"{rd.manifest}: missing — {rd.root} is not a complete run directory "
                       "(was the run interrupted while it was being created?)") from None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RunError(f"{rd.manifest}: cannot be read ({_one_line(exc)})") from None
    except RecursionError:
        raise RunError(f"{rd.manifest}: cannot be read (nested too deeply)") from None


def summarize(rd: RunDir) -> RunSummary:
    """Everything `show` prints; RunError when run.json is missing or unreadable."""
    manifest = load_manifest(rd)
    status = manifest.status
    if status in ("running", "created", "creating") and live_holder(rd.lock_file) is None:
        status = "interrupted"  # run.json says running, but no process holds the run's lock
    summary = RunSummary(
        run_id=rd.run_id, status=status, created_at=manifest.created_at,
        updated_at=manifest.updated_at, profile=manifest.profile,
        profile_source=manifest.profile_source, error=manifest.error,
        stop_requested=rd.stop_requested(),
        stages={name: StageInfo(status=s.status, started_at=s.started_at, ended_at=s.ended_at,
                                artifacts=list(s.artifacts), error=s.error)
                for name, s in manifest.stages.items()},
        paths={"run_dir": str(rd.root), "manifest": str(rd.manifest),
               "report": str(rd.report_md), "logs": str(rd.logs), "events": str(rd.events)},
        report_written=rd.report_md.is_file(),
    )
    at_verdict = stopped_at_verdict(manifest)
    for slug, state in manifest.trials.items():
        counts = TrialCounts(temperature=state.temperature, planned=state.planned,
                             done=state.done, failed=state.failed, pending=state.pending,
                             skipped=state.skipped)
        path = rd.results(slug)
        try:
            _count_results(summary, counts, state, slug, path, at_verdict)
        except (OSError, ValueError) as exc:  # CorruptResults is a ValueError
            why = exc.message if isinstance(exc, RunError) else \
                f"{path}: cannot be read ({_one_line(exc)})"
            summary.warnings.append(f"{why} — showing run.json's counts for this trial")
            summary.damaged.append(str(path))
        summary.trials[slug] = counts
        summary.planned += counts.planned
        summary.done += counts.done
        summary.failed += counts.failed
        summary.pending += counts.pending
        summary.skipped += counts.skipped
    return summary


def _count_results(summary: RunSummary, counts: TrialCounts, state, slug: str, path: Path,
                   at_verdict: bool) -> None:
    """One trial's counts and failed units from its results.jsonl (the source of truth)."""
    failed_units: list[FailedUnit] = []
    with LatestResults(path, SMALL_INDEX) as results:  # a dict for a small file: no numpy
        torn = results.torn
        done, failed = results.count("ok"), results.count("failed")
        failed_units.extend(
            FailedUnit(trial=slug, custom_id=r.custom_id, attempts=r.attempts,
                       error=r.error, error_kind=r.error_kind)
            for r in results.records("failed"))
    # nothing of this trial is taken until the whole file was read
    if torn is not None:
        summary.warnings.append(f"{path}: the last line is incomplete ({torn.length} bytes); "
                                "resume will redo that unit")
    counts.done, counts.failed = done, failed
    left = max(counts.planned - counts.done - counts.failed, 0)
    counts.pending, counts.skipped = (0, left) if at_verdict else (left, 0)
    if (counts.done, counts.failed, counts.pending, counts.skipped) != (
            state.done, state.failed, state.pending, state.skipped):
        summary.run_json_counts_stale = True
    summary.failed_units.extend(failed_units)


def summarize_archive(path: Path) -> RunSummary:
    """`summarize` for a run archive (checked against its sums first); paths name members
    as `<archive>!<run-id>/<file>`."""
    import tempfile

    from evalcli.store.archive import extract_run

    path = Path(path).expanduser().resolve()
    with tempfile.TemporaryDirectory(prefix="evalcli-show-") as tmp:
        rd = extract_run(path, Path(tmp))
        summary = summarize(rd)
    if summary.status == "interrupted":
        summary.status = "running when archived"
    summary.archive = str(path)
    summary.paths = {name: f"{path}!{rd.run_id}/{rel}" for name, rel in (
        ("run_dir", ""), ("manifest", "run.json"), ("report", "report.md"), ("logs", "logs/"),
        ("events", "events.jsonl"))}
    return summary


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run folder under runs_dir, newest first; an unreadable one is listed as such."""
    runs_dir = Path(runs_dir).expanduser()
    if not runs_dir.exists():
        return []
    if not runs_dir.is_dir():
        raise RunError(f"--runs-dir {runs_dir}: not a folder — pass the folder that holds "
                       "the run directories")
    found: list[tuple[tuple[str, float, str], RunSummary]] = []
    for entry in runs_dir.iterdir():
        if not _looks_like_run(entry):
            continue
        rd = RunDir(runs_dir, entry.name)
        # created_at has whole seconds: items.jsonl's mtime (written once, at creation)
        # orders runs created within the same second
        born = _mtime(rd.items) or _mtime(entry)
        try:
            summary = summarize(rd)
            created = summary.created_at
        except (EvalcliError, OSError, ValueError) as exc:  # one damaged run: a note, and on
            message = exc.message if isinstance(exc, EvalcliError) else _one_line(exc)
            summary = RunSummary(run_id=entry.name, status="unreadable", error=message)
            created = _iso(born)
        found.append(((created, born, entry.name), summary))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [summary for _, summary in found]


def _looks_like_run(entry: Path) -> bool:
    if not entry.is_dir():
        return False
    try:
        validate_run_id(entry.name)
    except RunError:
        return False
    return any((entry / name).exists() for name in ("run.json", "run.lock", "items.jsonl"))


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _quote(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text


def to_json(value: object) -> str:
    """Indented JSON for `--json` output (Structs, lists and dicts alike)."""
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()
