"""`evalcli resume RUN_ID`: finish an interrupted run — exactly the missing work, nothing twice."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from evalcli.cli.common import (
    AbstainPhrases,
    Archive,
    CheckDeterminism,
    FromStage,
    OnlyStage,
    Reuse,
    RunIdArg,
    RunsDir,
    ToStage,
    console,
)
from evalcli.errors import RunError


def resume(
    run_id: RunIdArg,
    runs_dir: RunsDir = "runs",
    force: Annotated[bool, typer.Option("--force", help="Resume even though inputs changed.")] = False,
    from_: FromStage = None,
    to: ToStage = None,
    only: OnlyStage = None,
    continue_past_verdict: Annotated[bool, typer.Option("--continue-past-verdict", help="A sequential run that stopped at its verdict: run its skipped units too.")] = False,
    abstain_phrase: AbstainPhrases = None,
    reuse: Reuse = False,
    check_determinism: CheckDeterminism = None,
    archive: Archive = False,
) -> None:
    """Run the units not yet finished (failed ones again), then the later stages. A
    sequential run that stopped at its verdict is finished: nothing to do unless
    --continue-past-verdict."""
    # the pipeline (numpy, scipy, the engines) is imported here, not for `resume --help`
    from evalcli.run.resume import open_run
    from evalcli.run.stage_names import select_stages
    from evalcli.store.rundir import RunDir

    started = time.monotonic()
    out = console()
    stages = select_stages(from_, to, only)
    rd = RunDir(runs_dir, run_id)
    open_run(rd)
    # a resume refused or ended by an error (inputs changed, an engine that cannot start)
    # raises before the end and is not archived, as with `run --archive`
    end = _resume(rd, out, stages, force=force, continue_past_verdict=continue_past_verdict,
                  abstain_phrase=abstain_phrase, reuse=reuse,
                  check_determinism=check_determinism)
    try:
        if end is not None:
            from evalcli.run.summary import end_of_run

            setup, status, ran = end
            end_of_run(out, setup, status, started, finished_here=ran, to=to)
    finally:  # the exit status (stopped 130, failed units 5) stands after the archive
        if archive:
            from evalcli.cli.archive import archive_run

            archive_run(rd, None, out)


def _resume(rd, out, stages, *, force: bool, continue_past_verdict: bool, abstain_phrase,
            reuse: bool, check_determinism):
    """The resume up to its summary: (setup, status, units finished here), or None when
    there was nothing to do (already said)."""
    from evalcli.report.sequential import sentence
    from evalcli.run.generate import load_finished, pending_units
    from evalcli.run.pipeline import preflight
    from evalcli.run.resume import (
        add_abstain_phrases,
        changes_since_start,
        open_run,
        record_forced,
        setup_from_manifest,
    )
    from evalcli.run.session import run_session
    from evalcli.run.summary import result_lines
    from evalcli.store.lock import RunLock
    from evalcli.store.manifest import stopped_at_verdict

    run_id = rd.run_id
    with RunLock(rd.lock_file) as lock:
        if lock.previous_pid:
            out.print(f"notice: took over the lock of process {lock.previous_pid}, which is gone",
                      markup=False)
        manifest = open_run(rd)
        if abstain_phrase:
            added = add_abstain_phrases(rd, manifest, abstain_phrase)
            out.print(f"[scoring] abstain_phrases += {added or 'nothing new'}: the later stages "
                      "are scored again from the recorded answers", markup=False)
        setup = setup_from_manifest(rd, manifest)
        if reuse or check_determinism is not None:  # this session only: not the snapshot
            from evalcli.inputs.config import replace_cache

            setup.profile = replace_cache(setup.profile, reuse=reuse,
                                          check_determinism=check_determinism)
        changes = changes_since_start(setup, manifest)
        if changes and not force:
            raise RunError(f"run {run_id}: inputs changed since it started — "
                           + "; ".join(changes) + " — resume anyway with --force")
        if changes:
            record_forced(rd, changes)
        at_verdict = stopped_at_verdict(manifest) and not continue_past_verdict
        if at_verdict and manifest.status == "completed":
            out.print(f"run {run_id} stopped at its verdict ({sentence(manifest.stopping)}); "
                      f"nothing to do — to run its {manifest.stopping.skipped_units} "
                      f"skipped units anyway: evalcli resume {run_id} --continue-past-verdict",
                      markup=False)
            return None
        rd.clear_stop()
        todo = [] if at_verdict else pending_units(setup.plan.units, load_finished(setup))
        before = result_lines(setup)
        was = {name: (state.status, state.ended_at) for name, state in manifest.stages.items()}

        def announce() -> None:
            for warning in preflight(setup):
                out.print(f"warning: {warning}", markup=False)
            out.print(f"run {run_id}: {len(todo)} of {len(setup.plan.units)} units to run",
                      markup=False)

        def unfinished() -> None:
            if todo:
                out.print(f"note: {len(todo)} units are not finished; later stages mark them "
                          "pending", markup=False)

        status, produced = run_session(setup, manifest, out, stages,
                                       past_verdict=continue_past_verdict,
                                       before_generate=announce, without_generate=unfinished)
    ran = result_lines(setup) - before
    # what ran is said by the stages themselves: a stage redone within the second it last
    # ended keeps the same ended_at
    now = {name: (state.status, state.ended_at) for name, state in manifest.stages.items()}
    if not ran and not produced and status == "completed" and manifest.status == "completed" \
            and was == now:
        out.print(f"run {run_id}: nothing to do - every unit is finished and every stage is "
                  "up to date", markup=False)
    return setup, status, ran
