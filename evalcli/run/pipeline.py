"""Setting a run up: prepare and plan, then the run directory.

    profile ──build_setup──► Setup (items, prompt sets, engine, plan) — nothing written yet
                                 (--plan-only stops here: plan_summary)
    Setup ──create_run──► runs/<id>/ run.json (`creating`) → items.jsonl → run.json
                          (`created`: prepare and plan done); `resume` completes a
                          `creating` run, a new `run` with its id discards it

Then evalcli.run.generate runs the units (the only expensive stage) and evalcli.run.stages the
stages after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import msgspec

from engines.base import EngineLoadError
from engines.secrets import Scrubber, fingerprint
from evalcli import environment
from evalcli.errors import ConfigError, DataError, EngineStartError, RunError
from evalcli.inputs.config import LoadedProfile, Profile, config_hash
from evalcli.inputs.datasets import load_sources
from evalcli.inputs.items import Item, Items, read_items, write_items
from evalcli.inputs.prompts import LoadedPromptSet, load_prompt_set, prompt_sha256
from evalcli.run.engine_setup import ResolvedEngine, resolve_engines
from evalcli.run.plan import Plan
from evalcli.store.fsutil import is_temp_file
from evalcli.store.manifest import (
    Manifest,
    PlanSummary,
    PromptSetInput,
    RunEnvironment,
    RunInputs,
    TrialState,
    UnitOrder,
    new_manifest,
    read_manifest,
    write_manifest,
)
from evalcli.store.rundir import RunDir


@dataclass
class Setup:
    run_dir: RunDir
    loaded: LoadedProfile
    profile: Profile
    items: Items
    prompt_sets: list[LoadedPromptSet]
    engine: ResolvedEngine
    plan: Plan
    warnings: list[str] = field(default_factory=list)
    # every engine variant (model) of a sweep, `engine` first; [] = just `engine`; a
    # trial's or unit's `variant` is an index into `engines`
    variants: list[ResolvedEngine] = field(default_factory=list)

    @property
    def engines(self) -> list[ResolvedEngine]:
        return self.variants or [self.engine]

    def snapshot(self) -> dict:
        return msgspec.to_builtins(self.profile)

    def inputs(self) -> RunInputs:
        return RunInputs(
            items_sha256=items_sha256(self.items),
            items=len(self.items),
            prompt_sets=[
                PromptSetInput(name=p.name, source=p.source, sha256=p.sha256,
                               system_prompt_sha256={c: prompt_sha256(p.prompts, c)
                                                     for c in p.prompts.conditions})
                for p in self.prompt_sets],
        )

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


def items_sha256(items: Iterable[Item]) -> str:
    """sha256 of the items as JSONL: what items.jsonl holds."""
    return Items.of(items).sha256()


@contextmanager
def _naming(source: str) -> Iterator[None]:
    """A profile setting's ConfigError ("[[datasets]] #2 ...", "prompts.set = ...") names the
    profile it comes from; one about another file (a prompt-set file) names that file."""
    try:
        yield
    except ConfigError as exc:
        if not exc.message.startswith(("[[datasets]]", "prompts.set")):
            raise
        raise ConfigError(f"{source}: {exc.message}") from None


def build_setup(loaded: LoadedProfile, profile: Profile, run_dir: RunDir,
                items: Iterable[Item] | None = None) -> Setup:
    """Everything needed to run, computed without writing anything."""
    if items is None:
        with _naming(loaded.source):
            items = load_sources(profile.datasets, loaded.base_dir,
                                 limit_items=profile.run.limit_items)
        if not items:  # refused before a run directory exists
            raise DataError(f"{loaded.source}: datasets - the datasets gave no items, so there "
                            "is nothing to run; check the dataset files, their filters and "
                            "run.limit_items")
    items = Items.of(items)  # held packed from here on (no Python object per item)
    with _naming(loaded.source):
        prompt_sets = [load_prompt_set(name, loaded.base_dir) for name in profile.prompts.names]
    controls = {p.prompts.control for p in prompt_sets}
    if len(controls) > 1:
        raise ConfigError(
            f"{loaded.source}: prompts.set — the prompt sets of a sweep must name their control "
            f"the same (found {', '.join(sorted(controls))}); rename one"
        )
    s = profile.sampling
    n_units = len(items) * sum(len(p.prompts.conditions) for p in prompt_sets) \
        * len(s.temperatures) * len(s.top_p_values) * len(s.top_k_values) \
        * len(s.max_tokens_values) * s.samples_per_item * len(profile.engine.option_sets())
    if n_units > profile.run.max_units:
        raise ConfigError(
            f"{loaded.source}: the plan has {n_units:,} units, more than run.max_units = "
            f"{profile.run.max_units:,} — check sampling.samples_per_item, the sweeps and the "
            "datasets' limits, or allow it with run.max_units or --max-units N"
        )
    engines = resolve_engines(profile.engine, base_dir=loaded.base_dir, label=loaded.source,
                              items_file=run_dir.items, units=n_units,
                              unit_timeout_s=profile.run.unit_timeout_s)
    if len(engines) > 1:
        from engines import is_batch_engine

        if is_batch_engine(engines[0].cls):
            raise ConfigError(f"{loaded.source}: engine.variants — a batch engine "
                              f"({engines[0].name}) runs one model per run; remove the variants "
                              "and make one run per model")
    # the frozen items are part of a trial's identity: results never pair with other questions
    frozen = items_sha256(items)
    plan = Plan(items=items, prompt_sets=[(p.name, p.sha256, p.prompts) for p in prompt_sets],
                engines=[({**e.identity, "items_sha256": frozen}, e.model_label, e.prompt_format)
                         for e in engines],
                sampling=s, seed=s.seed, stopping=profile.stopping,
                arm_block_items=profile.run.arm_block_items)
    if profile.stopping is not None:  # one trial, known arms: refused before anything runs
        from evalcli.run.stopping import StoppingMonitor

        StoppingMonitor(plan, profile.stopping, profile.scoring)
    return Setup(run_dir, loaded, profile, items, prompt_sets, engines[0], plan,
                 variants=engines if len(engines) > 1 else [])


def preflight(setup: Setup) -> list[str]:
    from evalcli.run.context_fit import check_context

    notes: list[str] = []
    longest = setup.plan.longest_request()
    scrub = Scrubber(run_secrets(setup)).scrub  # what a server said never shows a key
    try:
        for variant, engine in enumerate(setup.engines):
            found = engine.cls.preflight(engine.options, workers=engine.workers,
                                         longest_request=longest)
            found += check_context(engine, (setup.plan.request(u) for u in setup.plan.units
                                            if u.sample_index == 0 and u.variant == variant),
                                   setup.loaded.source)
            notes += [scrub(n) for n in found if scrub(n) not in notes]
    except EngineLoadError as exc:
        raise EngineStartError(scrub(str(exc))) from None
    return notes


def add_trials(setup: Setup, manifest: Manifest) -> None:
    """Give every planned trial its manifest entry (a forced resume can add a new trial)."""
    for trial in setup.plan.trials:
        if trial.slug not in manifest.trials:
            planned = sum(len(g) for g in setup.plan.groups if g.trial == trial.slug)
            shared = setup.plan.row_count(trial.slug) - planned
            manifest.trials[trial.slug] = TrialState(temperature=trial.temperature,
                                                     params=trial.params, planned=planned,
                                                     pending=planned, shared=shared)


def create_run(setup: Setup) -> Manifest:
    """Make the run directory a run (called with the run's lock held).

    One atomic step makes the folder a run: run.json is written first, with status
    `creating` and everything cheap to know (config, inputs, plan, trials); items.jsonl, the
    environment (the model file's sha256: slow) and the `created` run.json follow
    (complete_creation). A kill at any instant leaves either no run.json (the id is free:
    `run --run-id` takes it again) or a `creating` one that `resume` completes (or that a new
    `run` with the same id discards: nothing was run yet)."""
    rd = setup.run_dir
    if rd.manifest.exists() and not _discard_unfinished(rd):
        raise RunError(f"run {rd.run_id} already exists in {rd.root.parent} — resume it with: "
                       f"evalcli resume {rd.run_id}, or choose another --run-id")
    _remove_temp_files(rd)
    leftovers = [p.name for p in rd.root.iterdir() if p.name != rd.lock_file.name] \
        if rd.root.is_dir() else []
    if leftovers:  # results without their run.json are never taken over
        raise RunError(f"{rd.root} is not empty but has no run.json (not an evalcli run, or its "
                       "manifest was deleted) - choose another --run-id, or move that folder "
                       "away")
    rd.root.mkdir(parents=True, exist_ok=True)
    manifest = new_manifest(rd.run_id)
    manifest.status = "creating"
    snapshot = setup.snapshot()
    manifest.profile, manifest.profile_source = setup.loaded.name, setup.loaded.source
    manifest.base_dir = str(setup.loaded.base_dir)
    manifest.config, manifest.config_hash = snapshot, config_hash(snapshot)
    manifest.inputs = setup.inputs()
    add_trials(setup, manifest)
    manifest.plan = plan_summary(setup)
    write_manifest(rd.manifest, manifest)  # from here on the folder is a run
    return complete_creation(setup, manifest)


def complete_creation(setup: Setup, manifest: Manifest) -> Manifest:
    """Freeze the items, record the environment, and mark the run `created`."""
    rd = setup.run_dir
    write_items(rd.items, setup.items)
    manifest.environment = msgspec.convert(environment.collect(setup.engine.model_path),
                                           RunEnvironment)
    manifest.environment.engine_options = setup.engine.options_for_manifest()
    if setup.variants:
        manifest.environment.engine_variants = [e.options_for_manifest()
                                                   for e in setup.variants]
    manifest.secrets = fingerprint(run_secrets(setup))
    manifest.finish_stage("prepare", [rd.relative(rd.items)])
    manifest.finish_stage("plan", [])
    manifest.status = "created"
    write_manifest(rd.manifest, manifest)
    return manifest


def _discard_unfinished(rd: RunDir) -> bool:
    """A run.json left `creating` by a process that died (the caller holds the lock): nothing
    was run, so its files go and the id is free again. False for any other run."""
    try:
        status = read_manifest(rd.manifest).status
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return False
    if status != "creating":
        return False
    for path in (rd.items, rd.manifest):
        path.unlink(missing_ok=True)
    return True


def _remove_temp_files(rd: RunDir) -> None:
    """Temp files of atomic writes a killed process left (never anything else)."""
    if rd.root.is_dir():
        for path in rd.root.iterdir():
            if path.is_file() and is_temp_file(path.name):
                path.unlink(missing_ok=True)


def run_secrets(setup: Setup) -> list[str]:
    """The API keys the run's engines send (only their fingerprint is ever written)."""
    keys: list[str] = []
    for engine in setup.engines:
        try:
            keys += engine.cls.secrets(engine.options)
        except EngineLoadError:  # unset: preflight said so; nothing to remember
            pass
    return [k for k in keys if k]


def plan_summary(setup: Setup) -> PlanSummary:
    return PlanSummary(
        units=len(setup.plan.units), items=len(setup.items),
        conditions=setup.conditions,
        control=setup.control,
        prompt_sets=[p.name for p in setup.prompt_sets],
        shared_units=sum(setup.plan.row_count(t.slug) for t in setup.plan.trials)
        - len(setup.plan.units),
        temperatures=list(setup.profile.sampling.temperatures),
        models=[e.model_label for e in setup.variants] if setup.variants else [],
        samples_per_item=setup.profile.sampling.samples_per_item,
        engine=setup.engine.name, workers=setup.engine.workers,
        prompt_format=setup.engine.prompt_format,
        worker_note=setup.engine.cap_note,
        trials=[t.slug for t in setup.plan.trials],
        order=[UnitOrder(trial=trial, condition=condition, units=count)
               for (trial, condition), count in _groups(setup.plan).items()],
    )


def _groups(plan: Plan) -> dict[tuple[str, str], int]:
    """Units per (trial, condition), in plan order (a sequential run's blocks summed)."""
    counts: dict[tuple[str, str], int] = {}
    for group in plan.groups:
        counts[(group.trial, group.condition)] = \
            counts.get((group.trial, group.condition), 0) + len(group)
    return counts


def frozen_items(run_dir: RunDir) -> Items:
    return read_items(run_dir.items)
