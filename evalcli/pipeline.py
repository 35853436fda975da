"""One run, stage by stage: prepare → plan → generate → parse → score → report.

    Setup (profile, items, prompts, engine, plan)   — nothing written yet (plan-only stops here)
    create_run   runs/<id>/ + lock + items.jsonl + run.json
    execute      generate (the supervisor; the only expensive stage), then the later stages,
                 each a pure function of earlier artifacts, re-runnable on its own
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from engines.base import EngineLoadError
from evalcli import environment
from evalcli.config import LoadedProfile, Profile, config_hash
from evalcli.costs import summarize_costs, write_costs
from evalcli.datasets import load_sources
from evalcli.engine_setup import ResolvedEngine, resolve_engine
from evalcli.errors import ConfigError, EngineStartError, RunError
from evalcli.fsutil import atomic_write_text, utc_now
from evalcli.items import Item, read_items, write_items
from evalcli.manifest import Manifest, TrialState, new_manifest, write_manifest
from evalcli.per_item import read_per_item, score_rows, write_per_item
from evalcli.plan import Plan, Unit
from evalcli.predictions import prediction_row, read_predictions, write_predictions
from evalcli.prompts import LoadedPromptSet, load_prompt_set, prompt_sha256
from evalcli.report import render_report
from evalcli.report_html import render_report_html
from evalcli.results import (
    latest,
    read_results,
)
from evalcli.rundir import RunDir
from evalcli.stats.significance import significance_for, write_significance


@dataclass
class Setup:
    run_dir: RunDir
    loaded: LoadedProfile
    profile: Profile
    items: list[Item]
    prompt_sets: list[LoadedPromptSet]
    engine: ResolvedEngine
    plan: Plan
    warnings: list[str] = field(default_factory=list)

    def snapshot(self) -> dict:
        return msgspec.to_builtins(self.profile)

    def inputs(self) -> dict:
        items_blob = b"".join(msgspec.json.encode(item) + b"\n" for item in self.items)
        return {
            "items_sha256": hashlib.sha256(items_blob).hexdigest(),
            "items": len(self.items),
            "prompt_sets": [
                {"name": p.name, "source": p.source, "sha256": p.sha256,
                 "system_prompt_sha256": {c: prompt_sha256(p.prompts, c)
                                          for c in p.prompts.conditions}}
                for p in self.prompt_sets],
        }

    @property
    def control(self) -> str:
        """The control condition's name (the same in every prompt set of a sweep)."""
        return self.prompt_sets[0].prompts.control

    @property
    def conditions(self) -> list[str]:
        """Every condition of the run, control first, in prompt-set order."""
        out: list[str] = []
        for loaded in self.prompt_sets:
            out += [c for c in loaded.prompts.conditions if c not in out]
        return out

    @property
    def treatments(self) -> list[str]:
        return [c for c in self.conditions if c != self.control]


def build_setup(loaded: LoadedProfile, profile: Profile, run_dir: RunDir,
                items: list[Item] | None = None) -> Setup:
    """Everything needed to run, computed without writing anything."""
    if items is None:
        items = load_sources(profile.datasets, loaded.base_dir,
                             limit_items=profile.run.limit_items)
    prompt_sets = [load_prompt_set(name, loaded.base_dir) for name in profile.prompts.names]
    controls = {p.prompts.control for p in prompt_sets}
    if len(controls) > 1:
        raise ConfigError(
            f"{loaded.source}: prompts.set — the prompt sets of a sweep must name their control "
            f"the same (found {', '.join(sorted(controls))}); rename one"
        )
    n_units = len(items) * sum(len(p.prompts.conditions) for p in prompt_sets) \
        * len(profile.sampling.temperatures) * profile.sampling.samples_per_item
    engine = resolve_engine(profile.engine, base_dir=loaded.base_dir, label=loaded.source,
                            items=items, units=n_units)
    identity = {"engine": engine.name, "model": getattr(engine.options, "model", ""),
                "options": {k: v for k, v in engine.options_for_manifest().items()
                            if k not in ("answer_key", "verbose", "n_threads")}}
    plan = Plan(items=items, prompt_sets=[(p.name, p.sha256, p.prompts) for p in prompt_sets],
                engine_identity=identity, model_label=engine.cls.model_label(engine.options),
                sampling=profile.sampling, seed=profile.sampling.seed)
    return Setup(run_dir, loaded, profile, items, prompt_sets, engine, plan)


def preflight(setup: Setup) -> list[str]:
    try:
        return setup.engine.cls.preflight(setup.engine.options, workers=setup.engine.workers,
                                          longest_request=setup.plan.longest_request())
    except EngineLoadError as exc:
        raise EngineStartError(str(exc)) from None


def add_trials(setup: Setup, manifest: Manifest) -> None:
    """Give every planned trial its manifest entry (a forced resume can add a new trial)."""
    for trial in setup.plan.trials:
        if trial.slug not in manifest.trials:
            planned = sum(1 for u in setup.plan.units if u.trial == trial.slug)
            shared = len(setup.plan.rows[trial.slug]) - planned
            manifest.trials[trial.slug] = TrialState(temperature=trial.temperature,
                                                     params=trial.params, planned=planned,
                                                     pending=planned, shared=shared)


def create_run(setup: Setup) -> Manifest:
    rd = setup.run_dir
    if rd.manifest.exists():
        raise RunError(f"run {rd.run_id} already exists in {rd.root.parent} — resume it with: "
                       f"evalcli resume {rd.run_id}, or choose another --run-id")
    rd.root.mkdir(parents=True, exist_ok=True)
    write_items(rd.items, setup.items)
    manifest = new_manifest(rd.run_id)
    snapshot = setup.snapshot()
    manifest.profile, manifest.profile_source = setup.loaded.name, setup.loaded.source
    manifest.base_dir = str(setup.loaded.base_dir)
    manifest.config, manifest.config_hash = snapshot, config_hash(snapshot)
    manifest.inputs = setup.inputs()
    manifest.environment = environment.collect(setup.engine.model_path)
    manifest.environment["engine_options"] = setup.engine.options_for_manifest()
    add_trials(setup, manifest)
    _stage_done(manifest, "prepare", [rd.relative(rd.items)])
    manifest.plan = plan_summary(setup)
    _stage_done(manifest, "plan", [])
    write_manifest(rd.manifest, manifest)
    return manifest


def plan_summary(setup: Setup) -> dict:
    return {
        "units": len(setup.plan.units), "items": len(setup.items),
        "conditions": setup.conditions,
        "control": setup.control,
        "prompt_sets": [p.name for p in setup.prompt_sets],
        "shared_units": sum(len(rows) for rows in setup.plan.rows.values())
        - len(setup.plan.units),
        "temperatures": list(setup.profile.sampling.temperatures),
        "samples_per_item": setup.profile.sampling.samples_per_item,
        "engine": setup.engine.name, "workers": setup.engine.workers,
        "worker_note": setup.engine.cap_note,
        "trials": [t.slug for t in setup.plan.trials],
        # the order units are handed out: groups sharing a system prompt, each kept on a worker
        "order": [{"trial": trial, "condition": condition, "units": count}
                  for (trial, condition), count in _groups(setup.plan.units).items()],
    }


def _groups(units: list[Unit]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for unit in units:
        counts[(unit.trial, unit.condition)] = counts.get((unit.trial, unit.condition), 0) + 1
    return counts


def _stage_start(manifest: Manifest, name: str) -> None:
    stage = manifest.stage(name)
    stage.status, stage.started_at, stage.ended_at, stage.error = "running", utc_now(), "", ""


def _stage_done(manifest: Manifest, name: str, artifacts: list[str], inputs_hash: str = "") -> None:
    stage = manifest.stage(name)
    stage.status, stage.ended_at, stage.artifacts = "done", utc_now(), artifacts
    stage.started_at = stage.started_at or stage.ended_at
    stage.inputs_hash = inputs_hash


# -- later stages -----------------------------------------------------------------------------
def _per_trial(setup: Setup, manifest: Manifest, name: str, produce) -> None:
    """Run `produce(trial) -> path written` for every trial, recording the stage."""
    _stage_start(manifest, name)
    artifacts = [setup.run_dir.relative(produce(trial)) for trial in setup.plan.trials]
    _stage_done(manifest, name, artifacts)


def parse_stage(setup: Setup, manifest: Manifest) -> None:
    rd = setup.run_dir
    records: dict[str, dict] = {}  # trial -> latest record per custom_id (read once each)

    def produce(trial) -> Path:
        plan_rows = setup.plan.rows[trial.slug]
        for source in {row.source_trial for row in plan_rows} - set(records):
            records[source] = latest(read_results(rd.results(source))[0])
        write_predictions(rd.predictions(trial.slug), [
            prediction_row(row.custom_id, records[row.source_trial].get(row.source_id))
            for row in plan_rows])
        return rd.predictions(trial.slug)

    _per_trial(setup, manifest, "parse", produce)


def score_stage(setup: Setup, manifest: Manifest) -> None:
    rd, items = setup.run_dir, {item.key: item for item in setup.items}

    def produce(trial) -> Path:
        phrase = setup.plan.prompts_for(trial.slug).abstain_phrase
        scored = score_rows(read_predictions(rd.predictions(trial.slug)), items,
                            setup.profile.scoring, extra_phrases=[phrase])
        write_per_item(rd.per_item_scores(trial.slug), scored)
        return rd.per_item_scores(trial.slug)

    _per_trial(setup, manifest, "score", produce)


def stats_stage(setup: Setup, manifest: Manifest) -> None:
    rd = setup.run_dir

    def produce(trial) -> Path:
        sig = significance_for(read_per_item(rd.per_item_scores(trial.slug)),
                               control=setup.control, stats=setup.profile.stats)
        if len(setup.prompt_sets) > 1:  # a sweep: say which prompt set each comparison is
            for comp in sig.get("comparisons", []):
                comp["prompt_set"] = trial.prompt_set
        write_significance(rd.significance(trial.slug), sig)
        return rd.significance(trial.slug)

    _per_trial(setup, manifest, "stats", produce)


def costs_stage(setup: Setup, manifest: Manifest) -> None:
    rd = setup.run_dir

    def produce(trial) -> Path:
        costs = summarize_costs(read_predictions(rd.predictions(trial.slug)),
                                setup.profile.pricing)
        write_costs(rd.costs(trial.slug), costs)
        return rd.costs(trial.slug)

    _per_trial(setup, manifest, "costs", produce)


def report_stage(setup: Setup, manifest: Manifest) -> Path:
    _stage_start(manifest, "report")
    rd = setup.run_dir
    trials, failures, significance, predictions, costs = {}, {}, {}, {}, {}
    for trial in setup.plan.trials:
        slug = trial.slug
        trials[slug] = read_per_item(rd.per_item_scores(slug))
        significance[slug] = msgspec.json.decode(rd.significance(slug).read_bytes())
        predictions[slug] = read_predictions(rd.predictions(slug))
        failures[slug] = [r for r in predictions[slug] if r["status"] != "ok"]
        costs[slug] = msgspec.json.decode(rd.costs(slug).read_bytes())
    engine_info = manifest.environment.get("engine", {})
    facts = {
        "profile": f"{manifest.profile} ({manifest.profile_source})",
        "engine": f"{setup.engine.name}, {setup.engine.workers} worker(s)",
        "model": engine_info.get("model") or getattr(setup.engine.options, "model", "") or "—",
        "prompt sets": "; ".join(f"{p.name} — conditions: "
                                 + ", ".join(p.prompts.conditions) for p in setup.prompt_sets)
                       + f" (control: {setup.control})",
        "items": f"{len(setup.items)} ({sum(i.type == 'open' for i in setup.items)} open-book, "
                 f"{sum(i.type == 'closed' for i in setup.items)} closed-book; "
                 f"{sum(not i.answerable for i in setup.items)} unanswerable)",
        "sampling": ", ".join(f"{k}={v}" for k, v in setup.plan.trials[0].params.items()
                              if k != "temperature")
                    + "; temperatures " + ", ".join(f"{t:g}" for t in
                                                    setup.profile.sampling.temperatures),
    }
    args = dict(run_id=rd.run_id, facts=facts, trials=trials, significance=significance,
                control=setup.control, treatments=setup.treatments,
                failures=failures, predictions=predictions,
                items={item.key: item for item in setup.items}, costs=costs)
    atomic_write_text(rd.report_md, render_report(**args))
    atomic_write_text(rd.report_html, render_report_html(**args))
    _stage_done(manifest, "report", [rd.relative(rd.report_md), rd.relative(rd.report_html)])
    return rd.report_md


LATER_STAGES = ("parse", "score", "stats", "costs", "report")


def _stage_inputs(setup: Setup, name: str) -> tuple[list[Path], dict]:
    rd, slugs = setup.run_dir, [t.slug for t in setup.plan.trials]
    profile = setup.profile
    if name == "parse":
        return [rd.results(s) for s in slugs], {}
    if name == "score":
        return [rd.items] + [rd.predictions(s) for s in slugs], \
            msgspec.to_builtins(profile.scoring)
    if name == "costs":
        return [rd.predictions(s) for s in slugs], msgspec.to_builtins(profile.pricing)
    if name == "stats":
        return [rd.per_item_scores(s) for s in slugs], \
            {"stats": msgspec.to_builtins(profile.stats), "control": setup.control,
             "sweep": len(setup.prompt_sets) > 1}
    return ([rd.per_item_scores(s) for s in slugs] + [rd.significance(s) for s in slugs]
            + [rd.predictions(s) for s in slugs] + [rd.costs(s) for s in slugs] + [rd.items]), {}


def _inputs_hash(paths: list[Path], extra: dict, root: Path) -> str:
    digest = hashlib.sha256(msgspec.json.encode(extra, order="sorted"))
    for path in paths:  # which files (trial slugs) and what they hold
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


_STAGE_FUNCS = {"parse": parse_stage, "score": score_stage, "stats": stats_stage,
                "costs": costs_stage, "report": report_stage}


def finish(setup: Setup, manifest: Manifest, stages: tuple[str, ...] = LATER_STAGES) -> Path:
    """The stages after generate. Each is keyed on the content of its inputs: a stage whose
    inputs hash matches its last run and whose artifacts exist is skipped."""
    rd = setup.run_dir
    for name in LATER_STAGES:
        if name not in stages:
            continue
        paths, extra = _stage_inputs(setup, name)
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise RunError(f"stage {name} needs {rd.relative(missing[0])}, which does not exist "
                           f"— run the earlier stages first (evalcli resume {rd.run_id})")
        digest = _inputs_hash(paths, extra, rd.root)
        state = manifest.stage(name)
        if (state.status == "done" and state.inputs_hash == digest and state.artifacts
                and all((rd.root / a).exists() for a in state.artifacts)):
            continue
        _STAGE_FUNCS[name](setup, manifest)
        manifest.stage(name).inputs_hash = digest
        write_manifest(rd.manifest, manifest)
    if all(manifest.stage(n).status == "done" for n in ("generate", *LATER_STAGES)):
        manifest.status = "completed"
    write_manifest(rd.manifest, manifest)
    return rd.report_md


def select_stages(from_: str | None, to: str | None, only: str | None) -> tuple[str, ...]:
    """The stages to run, in order, from --from/--to/--only (generate and the later ones)."""
    order = ("generate", *LATER_STAGES)
    for flag, value in (("--from", from_), ("--to", to), ("--only", only)):
        if value is not None and value not in order:
            raise ConfigError(f"{flag} {value!r}: not a stage — use one of {', '.join(order)}")
    if only is not None:
        if from_ is not None or to is not None:
            raise ConfigError("--only cannot be combined with --from/--to")
        return (only,)
    start = order.index(from_) if from_ else 0
    end = order.index(to) if to else len(order) - 1
    if start > end:
        raise ConfigError(f"--from {from_} comes after --to {to}")
    return order[start:end + 1]


def frozen_items(run_dir: RunDir) -> list[Item]:
    return read_items(run_dir.items)
