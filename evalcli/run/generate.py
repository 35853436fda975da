"""The generate stage: run exactly the units not yet finished, appending each to results.jsonl.

    results.jsonl ──read_statuses──► done / failed ──► pending units (failed ones are retried)
    pending ──► Supervisor (worker pool engines)            ─┐
            └─► batch_driver.run_batch (remote batch engines) ─┴─► ResultSink.on_result
                    (run/result_sink.py) ─► token counts the engine did not report
                    (run/token_counts.py) ─► results.jsonl + run.json counts + dashboard

A sequential run ([stopping]) feeds every finished unit to a StoppingMonitor as well; when
its interval over the complete blocks reaches a decision, no new unit is handed out (the
supervisor's graceful stop: units in flight finish), the look is recorded in run.json
(`stopping`), and the units never run are counted as skipped — not failed, not pending:

    on_result ─► monitor.record ─► monitor.look() ─decision─► stop handing out ─► "verdict"

Worker-pool engines go through the supervisor; batch engines (fireworks_batch, openai_batch)
are driven from this process, their job ids kept in run.json so a resumed run re-attaches
to the remote job instead of submitting it again.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import msgspec
from rich.console import Console
from rich.text import Text

from evalcli.errors import EngineStartError, EvalcliError, StopRequested, StoreWriteError
from evalcli.run.batch_driver import run_batch
from evalcli.run.dashboard import LiveDashboard, PlainLog, Progress, TrialProgress
from evalcli.run.pipeline import Setup, add_trials
from evalcli.run.plan import Unit, Units
from evalcli.run.result_sink import ResultSink
from evalcli.run.supervisor import Supervisor, SupervisorSettings
from evalcli.run.telemetry import Sampler
from evalcli.run.token_counts import UnitTokens
from evalcli.store import events as ev
from evalcli.store.lock import record_workers
from evalcli.store.manifest import Manifest, Stopping, write_manifest, write_manifest_last
from evalcli.store.results import (
    LatestResults,
    ResultsWriter,
    StatusIndex,
    cut_torn_tail,
    read_statuses,
)
from evalcli.store.rundir import EventLog, RunDir
from evalcli.store.telemetry import TELEMETRY_FILE


def load_finished(setup: Setup) -> dict[str, StatusIndex]:
    """custom_id -> "ok" | "failed" for every trial; a torn last line is cut off first."""
    finished = {}
    for trial in setup.plan.trials:
        path = setup.run_dir.results(trial.slug)
        statuses, torn = read_statuses(path)
        if torn is not None:
            cut_torn_tail(path, torn)
        finished[trial.slug] = statuses
    return finished


def pending_units(units: Units, finished: dict[str, StatusIndex],
                  retry_failed: bool = True) -> Units:
    """The planned units without an ok record (and, by default, those that failed); a group
    whose trial has no result yet is taken whole, without making its units."""
    def pending(chunk: list[Unit]) -> list[bool]:  # one trial's units (a group's)
        statuses = finished[chunk[0].trial].get_many([unit.custom_id for unit in chunk])
        return [s is None or (retry_failed and s == "failed") for s in statuses]

    return units.select(pending, whole=lambda group: not finished.get(group.trial))


def refresh_counts(manifest: Manifest, finished: dict[str, StatusIndex],
                   skipped: bool = False) -> None:
    """Counts from the results; `skipped`: the units without a result were skipped because
    the run stopped at its verdict (else they are pending)."""
    for slug, state in manifest.trials.items():
        statuses = finished.get(slug)
        state.done = statuses.count("ok") if statuses is not None else 0
        state.failed = statuses.count("failed") if statuses is not None else 0
        left = state.planned - state.done - state.failed
        state.pending, state.skipped = (0, left) if skipped else (left, 0)


def sequential_monitor(setup: Setup):
    """The stopping monitor of a sequential run, fed every result already on disk; None
    for a fixed-n run."""
    stopping = setup.plan.stopping
    if stopping is None:
        return None
    from evalcli.run.stopping import StoppingMonitor  # numpy/scipy: only a sequential run

    monitor = StoppingMonitor(setup.plan, stopping, setup.profile.scoring)
    for trial in setup.plan.trials:
        with LatestResults(setup.run_dir.results(trial.slug)) as results:
            for record in results.records():
                monitor.record(record.custom_id, record.status, record.text)
    return monitor


def record_stopping(manifest: Manifest, setup: Setup, look, *, stopped_early: bool,
                    past_verdict: bool = False) -> None:
    """run.json `stopping`: the arms, α, margin, and the look the run ended on."""
    s = setup.plan.stopping
    previous = manifest.stopping if isinstance(manifest.stopping, Stopping) else None
    manifest.stopping = Stopping(
        metric=s.metric, control=s.control, treatment=s.treatment, alpha=s.alpha,
        margin=s.margin, min_items=s.min_items, block_size=s.block_size,
        items_planned=len(setup.plan.order), stopped_early=stopped_early,
        look=look.record() if look is not None else None,
        skipped_units=sum(t.skipped for t in manifest.trials.values()),
        continued_past=previous.look if past_verdict and previous is not None else None,
        design=s.design, spending=s.spending_label)


def _progress_line(look, metric: str) -> str:
    from evalcli.run.stopping import progress_line

    return progress_line(look, metric)


def _is_batch(setup: Setup) -> bool:
    from engines import is_batch_engine

    return is_batch_engine(setup.engine.cls)


def generate(setup: Setup, manifest: Manifest, console: Console, *, live: bool,
             past_verdict: bool = False) -> str:
    """Run every pending unit; returns "completed", "stopped", or "verdict" (a sequential
    run stopped at its verdict: the units not run are skipped). `past_verdict`: a
    sequential run goes on to its maximum whatever the monitor decides."""
    rd = setup.run_dir
    finished = load_finished(setup)
    todo = pending_units(setup.plan.units, finished)
    tokens = UnitTokens(setup.plan, setup.engines)  # a counter opens on its first use only
    reuse = None
    if setup.profile.cache.reuse and todo:
        from evalcli.run.reuse import RunReuse

        reuse = RunReuse(setup, manifest, lambda line: console.print(Text(line)))
        found, todo = reuse.split(todo)
        if found:  # written before anything runs: the counts and a sequential look see them
            try:
                _append_reused(setup, [(unit, tokens.fill(unit, record))
                                       for unit, record in found])
            finally:
                tokens.close()
            finished = load_finished(setup)
    add_trials(setup, manifest)
    refresh_counts(manifest, finished)
    monitor = sequential_monitor(setup)
    first = monitor.look() if monitor is not None else None
    decided = [first] if first is not None and first.decision and not past_verdict else []
    if not todo or decided:  # nothing to run, or the results on disk already decide
        if decided and todo:
            refresh_counts(manifest, finished, skipped=True)
        if manifest.stage("generate").status != "done":
            manifest.finish_stage("generate", _results_artifacts(setup))
        if monitor is not None:
            record_stopping(manifest, setup, decided[0] if decided else first,
                            stopped_early=bool(decided and todo), past_verdict=past_verdict)
        status = "verdict" if decided and todo else "completed"
        if status == "completed" and setup.profile.cache.check_determinism:
            _check(setup, manifest, console, reuse)
        _end_reuse(setup, manifest, reuse)
        write_manifest(rd.manifest, manifest)
        return status
    progress = Progress(rd.run_id, {
        slug: TrialProgress(planned=s.planned, done=s.done, failed=0, done_at_start=s.done)
        for slug, s in manifest.trials.items()})
    if first is not None:
        progress.sequential = _progress_line(first, setup.plan.stopping.metric)
    manifest.start_stage("generate")
    manifest.status, manifest.pid = "running", os.getpid()
    write_manifest(rd.manifest, manifest)
    events = EventLog(rd.events)
    rd.logs.mkdir(parents=True, exist_ok=True)
    pooled = not _is_batch(setup)
    sink = ResultSink(rd=rd, manifest=manifest, trials=[t.slug for t in setup.plan.trials],
                      finished=finished, progress=progress, events=events, pooled=pooled,
                      reuse=reuse, monitor=monitor, past_verdict=past_verdict,
                      progress_line=lambda look: _progress_line(look,
                                                                setup.plan.stopping.metric),
                      tokens=tokens)
    decided = sink.decided
    view = (LiveDashboard if live else PlainLog)(progress, console)
    events.emit(ev.GenerateStart(units=len(todo), engine=setup.engine.name))
    cpu_start = time.process_time()
    sampler = _telemetry(setup, console, events, progress)
    try:
        with view:
            if not pooled:
                status, info = run_batch(setup, manifest, todo, sink.on_result, events, rd,
                                         sink.should_stop)
            else:
                status, info = _run_pool(setup, todo, sink.on_result, events, rd, view,
                                         sink.should_stop, sampler, sink.after_batch)
    except EngineStartError as exc:
        manifest.stage("generate").status = "failed"
        manifest.stage("generate").error = exc.message
        manifest.status, manifest.error = "failed", exc.message
        raise EngineStartError(f"{exc.message}; after fixing it, resume with: "
                               f"evalcli resume {rd.run_id}") from None
    finally:
        if sampler is not None:
            sampler.stop()
        sink.close()
        tokens.close()
        # this process's CPU time while units ran (supervisor loop, dashboard, telemetry)
        events.emit(ev.GenerateEnd(
            supervisor_cpu_s=round(time.process_time() - cpu_start, 3)))
        events.close()
        write_manifest_last(rd.manifest, manifest)
    if info:
        manifest.environment.engine = info
    if decided:  # units in flight at the verdict have finished; the rest are skipped
        early = any(s.pending for s in manifest.trials.values())
        refresh_counts(manifest, finished, skipped=early)
        status = "verdict" if early else "completed"
    if status == "completed" and setup.profile.cache.check_determinism:
        _check(setup, manifest, console, reuse)
    _end_reuse(setup, manifest, reuse)
    if status in ("completed", "verdict"):
        manifest.finish_stage("generate", _results_artifacts(setup))
        if monitor is not None:
            record_stopping(manifest, setup, decided[0] if decided else monitor.look(),
                            stopped_early=status == "verdict", past_verdict=past_verdict)
    else:
        manifest.stage("generate").status = "stopped"
        manifest.status = "stopped"
    write_manifest(rd.manifest, manifest)
    return status


@contextmanager
def truthful_end(rd: RunDir, manifest: Manifest):
    """Around generate and the later stages: however they end, run.json says so — never
    "running" after this process has gone. A failed write (disk full) stops the run
    (resumable); Ctrl+C, SIGTERM (both a KeyboardInterrupt here: evalcli/__main__.py) and a
    STOP file seen between stages too; any other user-facing error fails it. Whatever the
    end, no STOP file is left behind (a late `evalcli stop` would read as pending forever)."""
    try:
        yield
    except StoreWriteError as exc:
        _mark(manifest, "stopped", f"stopped: {exc.message}")
        write_manifest_last(rd.manifest, manifest)
        raise StoreWriteError(f"{exc.message}, then resume with: evalcli resume {rd.run_id}") \
            from None
    except KeyboardInterrupt as exc:  # a signal while the supervisor is not running
        how = str(exc.args[0]) if exc.args and exc.args[0] else "Ctrl+C"
        _mark(manifest, "stopped", f"stopped: interrupted ({how})")
        write_manifest_last(rd.manifest, manifest)
        raise StopRequested(f"run {rd.run_id} interrupted ({how}); resume with: "
                            f"evalcli resume {rd.run_id}") from None
    except StopRequested as exc:  # evalcli stop, seen between stages
        _mark(manifest, "stopped", "stopped: evalcli stop")
        write_manifest_last(rd.manifest, manifest)
        raise exc from None
    except EvalcliError as exc:
        if manifest.status in ("created", "running"):
            _mark(manifest, "failed", exc.message)
            write_manifest_last(rd.manifest, manifest)
        raise
    finally:
        try:
            rd.stop_file.unlink(missing_ok=True)
        except OSError:
            pass


def _mark(manifest: Manifest, status: str, error: str) -> None:
    """The run ends `status` ("stopped" or "failed") with `error`; a stage that was running
    is `stopped` (generate, or any stage of a stopped run: resume redoes it) or `failed`, and
    its error is the reason without the run's "stopped: " prefix."""
    manifest.status, manifest.error = status, error
    for name, stage in manifest.stages.items():
        if stage.status == "running":
            stage.status = "stopped" if name == "generate" or status == "stopped" else "failed"
            stage.error = error.removeprefix("stopped: ")


# engines that run the model on this machine's GPU: the only ones whose console says that
# GPU telemetry is off (the mock and remote servers record it in events.jsonl only)
_LOCAL_GPU_ENGINES = ("llama_cpp", "ollama")


def _telemetry(setup: Setup, console: Console, events: EventLog,
               progress: Progress) -> Sampler | None:
    """The GPU sampler for this generate session, or None (off, or no NVML: one notice)."""
    config = setup.profile.telemetry
    if not config.enabled or _is_batch(setup):
        return None
    sampler = Sampler(setup.run_dir.root / TELEMETRY_FILE, interval_s=config.interval_s)
    if not sampler.start():
        if setup.engine.name in _LOCAL_GPU_ENGINES:  # elsewhere a GPU here is not the point
            console.print(Text(sampler.notice), style="dim")
        events.emit(ev.TelemetryOff(reason=sampler.notice))
        return None
    events.emit(ev.TelemetryStart(interval_s=sampler.interval_s, gpus=sampler.gpu_count))
    progress.gpus = lambda: sampler.latest
    return sampler


def _run_pool(setup: Setup, todo: Units, on_result, events: EventLog, rd: RunDir,
              view, should_stop, sampler: Sampler | None = None,
              after_batch=lambda: None) -> tuple[str, dict]:
    run = setup.profile.run
    settings = SupervisorSettings(
        engine=setup.engine.name, options=msgspec.to_builtins(setup.engine.options),
        workers=min(setup.engine.workers, len(todo)), unit_timeout_s=run.unit_timeout_s,
        max_crashes_per_unit=run.max_crashes_per_unit,
        max_engine_retries=run.max_engine_retries,
        max_consecutive_failures=run.max_consecutive_failures,
        variant_options=[msgspec.to_builtins(e.options) for e in setup.variants],
    )
    supervisor = Supervisor(
        settings=settings, units=todo, make_request=setup.plan.request, on_result=on_result,
        events=events, log_path=lambda i: str(rd.worker_log(i)),
        stop_requested=should_stop, on_tick=view.update,
        on_workers=lambda pids: record_workers(rd.lock_file, pids), after_batch=after_batch)
    if sampler is not None:
        sampler.worker_pids = lambda: {v.index: v.pid for v in (s.view for s in supervisor.slots)}
    outcome = supervisor.run()
    if outcome.status == "completed" and supervisor.signalled:
        # the signal came while the last units were in flight: they finished, but the user
        # asked to stop - before the later stages, as a signal there would (resumable)
        raise KeyboardInterrupt("Ctrl+C" if supervisor.signalled == "SIGINT"
                                else supervisor.signalled)
    return outcome.status, outcome.engine_info


def _append_reused(setup: Setup, found: list) -> None:
    """Append the records of units answered from the answer store, one write per trial."""
    writers: dict[str, ResultsWriter] = {}
    try:
        for unit, record in found:
            if unit.trial not in writers:
                writers[unit.trial] = ResultsWriter(setup.run_dir.results(unit.trial))
            writers[unit.trial].append(record, flush=False)
    finally:
        for writer in writers.values():
            writer.close()


def _end_reuse(setup: Setup, manifest: Manifest, reuse) -> None:
    """Close the answer store; count the reused answers from the results files."""
    if reuse is not None:
        reuse.close()
    if not isinstance(manifest.reuse, msgspec.UnsetType):
        from evalcli.run.reuse import recount

        recount(setup, manifest.reuse)


def _check(setup: Setup, manifest: Manifest, console: Console, reuse) -> None:
    """The determinism check, once per run (a resume after it does not repeat it)."""
    if isinstance(manifest.determinism, msgspec.UnsetType):
        from evalcli.run.determinism import check_determinism

        check_determinism(setup, manifest, reuse, lambda line: console.print(Text(line)))


def _results_artifacts(setup: Setup) -> list[str]:
    return [setup.run_dir.relative(setup.run_dir.results(t.slug)) for t in setup.plan.trials]
