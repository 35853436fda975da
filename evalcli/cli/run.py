"""`evalcli run`: a new experiment from a profile, start to report."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import Archive, CheckDeterminism, Reuse, RunsDir, ToStage, console
from evalcli.errors import ConfigError


def run(
    profile: Annotated[str, typer.Option("--profile", "-p", metavar="PROFILE", envvar="EVALCLI_PROFILE", help="Bundled profile name or path to a profile .toml (or $EVALCLI_PROFILE).")] = "local-llamacpp",
    model: Annotated[Path | None, typer.Option("--model", help="Model to use instead of the profile's (a .gguf for llama_cpp).")] = None,
    limit_items: Annotated[int | None, typer.Option("--limit-items", help="At most N items per dataset source (0 = all).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Engine worker processes.")] = None,
    max_units: Annotated[int | None, typer.Option("--max-units", help="Allow a run of up to N units (profile: run.max_units, default 1,000,000).")] = None,
    runs_dir: RunsDir = Path("runs"),
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name for the run directory (default: time-based).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Use the mock engine: the whole pipeline, no model.")] = False,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="Print the plan and exit; creates nothing.")] = False,
    to: ToStage = None,
    until_verdict: Annotated[bool, typer.Option("--until-verdict", help="Stop at the verdict: a sequential run ([stopping] defaults when the profile has none).")] = False,
    archive: Archive = False,
    reuse: Reuse = False,
    check_determinism: CheckDeterminism = None,
) -> None:
    """Run an experiment: prepare, plan, generate, parse, score, report."""
    # the pipeline (numpy, scipy, the engines) is imported here, not for `run --help`
    import msgspec

    from evalcli.inputs.config import (
        StoppingConfig,
        load_profile,
        recheck_profile,
        replace_cache,
        replace_engine,
        replace_run,
    )
    from evalcli.run.pipeline import build_setup, create_run, plan_summary, preflight
    from evalcli.run.session import run_session
    from evalcli.run.stage_names import select_stages
    from evalcli.run.summary import end_of_run, result_lines
    from evalcli.store.lock import RunLock
    from evalcli.store.rundir import RunDir, new_run_id

    started = time.monotonic()
    out = console()
    loaded = load_profile(profile)
    prof = loaded.profile
    if dry_run:
        prof = replace_engine(prof, name="mock", options={})
    if model is not None:
        if "model" not in prof.engine.options and not _has_model_option(prof.engine.name):
            raise ConfigError(f"--model: the {prof.engine.name} engine has no model option")
        prof = replace_engine(prof, options={**prof.engine.options, "model": str(model.expanduser().resolve())})
    if workers is not None:
        prof = replace_engine(prof, workers=workers)
    if limit_items is not None:
        prof = replace_run(prof, limit_items=limit_items)
    if max_units is not None:
        prof = replace_run(prof, max_units=max_units)
    if reuse or check_determinism is not None:
        prof = replace_cache(prof, reuse=reuse, check_determinism=check_determinism)
    if until_verdict and prof.stopping is None:
        prof = msgspec.structs.replace(prof, stopping=StoppingConfig(arms=_default_arms(loaded, prof)))
    prof = recheck_profile(prof, loaded.source)  # the flags' values, checked like the profile's
    stages = select_stages(None, to, None)
    rd = RunDir(runs_dir, new_run_id() if run_id is None else run_id)
    setup = build_setup(loaded, prof, rd)
    if plan_only:
        out.print(msgspec.json.format(msgspec.json.encode(plan_summary(setup)), indent=2).decode())
        return
    for warning in preflight(setup):
        out.print(f"warning: {warning}", markup=False)
    for note in setup.engine.notes:
        out.print(f"note: {note}", markup=False)
    rd.check_runs_dir()
    with RunLock(rd.lock_file):
        manifest = create_run(setup)
        out.print(f"run {rd.run_id}: {_units_line(setup)} on {setup.engine.name} with "
                  f"{setup.engine.workers} worker(s){_threads(setup.engine.options)} -> {rd.root}",
                  markup=False)
        if setup.plan.stopping is not None:  # the design, before the first unit
            from evalcli.run.planning import schedule_lines

            for line in schedule_lines(setup.plan, setup.plan.stopping):
                out.print(line, markup=False)
        status, _ = run_session(setup, manifest, out, stages)
    try:
        end_of_run(out, setup, status, started, finished_here=result_lines(setup), to=to)
    finally:  # the exit status (stopped 130, failed units 5) stands after the archive
        if archive:
            from evalcli.cli.archive import archive_run

            archive_run(rd, None, out)


def _default_arms(loaded, prof) -> list[str]:
    """--until-verdict without [stopping]: the prompt set's control and its first other
    condition (the demo's `control` vs `examples`), not the literal default names."""
    from evalcli.inputs.prompts import load_prompt_set

    conditions = load_prompt_set(prof.prompts.names[0], loaded.base_dir).prompts.conditions
    return list(conditions[:2]) if len(conditions) >= 2 else ["control", "treatment"]


def _threads(options) -> str:
    """" x N threads" for engines that run on this machine's cores (llama_cpp)."""
    threads = getattr(options, "n_threads", 0)
    return f" x {threads} threads ({os.cpu_count() or 1} CPU cores)" if threads else ""


def _has_model_option(engine: str) -> bool:
    from engines import engine_class

    return "model" in engine_class(engine).Options.__struct_fields__


def _units_line(setup) -> str:
    """"292 units (146 items x 2 conditions x 1 trial)"; the numbers always add up: answers
    served by an identical unit of an earlier trial (a shared control) are said, and a sweep
    whose prompt sets differ in their conditions counts its answers instead of a product."""
    samples = setup.profile.sampling.samples_per_item
    items, conditions = len(setup.items), len(setup.conditions)
    trials = len(setup.plan.trials)
    rows = sum(setup.plan.row_count(t.slug) for t in setup.plan.trials)
    units = len(setup.plan.units)
    times = f" x {samples} samples" if samples > 1 else ""
    plural = "s" if trials != 1 else ""
    if items * conditions * trials * samples == rows:
        text = f"{items} items x {conditions} conditions x {trials} trial{plural}{times}"
    else:
        text = (f"{items} items{times} x the conditions of each of {trials} "
                f"trial{plural} ({conditions} in all)")
    if rows != units:
        text += f" = {rows} answers; {rows - units} shared with an earlier trial, run once"
    return f"{units} units ({text})"
