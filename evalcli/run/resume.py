"""Resume a run: re-plan from its manifest, check nothing changed, run exactly the rest.

    run.json (config snapshot) ──► Profile      items.jsonl (frozen) ──► the same plan
    results.jsonl ──latest per custom_id──► done   →  pending = planned − done (failed are retried)

A run killed while being created (run.json `creating`) is completed first: its items are
loaded again and must be the ones it started with. Refuses when the inputs changed since the run started (config snapshot edited, dataset
files, prompt set or model file different) unless forced; with --force the frozen items are
kept and the current prompts and model are used, and the change is recorded in events.jsonl.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from engines.secrets import extend_fingerprint
from evalcli import environment
from evalcli.errors import EvalcliError, RunError
from evalcli.inputs.config import LoadedProfile, Profile, config_hash
from evalcli.inputs.datasets import load_sources
from evalcli.run.pipeline import (
    Setup,
    build_setup,
    complete_creation,
    frozen_items,
    run_secrets,
)
from evalcli.store.events import ResumeForced, ScoringChanged
from evalcli.store.manifest import Manifest, read_manifest, write_manifest
from evalcli.store.rundir import EventLog, RunDir


def open_run(rd: RunDir) -> Manifest:
    if not rd.manifest.is_file():
        raise RunError(f"no run {rd.run_id!r} in {rd.root.parent} — list runs with: "
                       f"evalcli runs --runs-dir {rd.root.parent}")
    try:
        return read_manifest(rd.manifest)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise RunError(f"{rd.manifest}: cannot read the run manifest "
                       f"({exc if str(exc) else type(exc).__name__})") from None


def _profile(rd: RunDir, manifest: Manifest) -> LoadedProfile:
    try:
        profile = msgspec.convert(manifest.config, Profile)
    except msgspec.ValidationError as exc:
        raise RunError(f"{rd.manifest}: config snapshot is not valid ({exc})") from None
    base_dir = Path(manifest.base_dir) if manifest.base_dir else rd.root
    return LoadedProfile(profile, manifest.profile, manifest.profile_source, base_dir)


def setup_from_manifest(rd: RunDir, manifest: Manifest) -> Setup:
    loaded = _profile(rd, manifest)
    if manifest.status == "creating":
        return finish_creating(rd, manifest, loaded)
    setup = build_setup(loaded, loaded.profile, rd, items=frozen_items(rd))
    # a resume may send another key than the start did: run.json remembers both
    manifest.secrets = extend_fingerprint(manifest.secrets, run_secrets(setup))
    return setup


def finish_creating(rd: RunDir, manifest: Manifest, loaded: LoadedProfile) -> Setup:
    """A run killed while being created (run.json `creating`): its items are loaded again
    from the snapshot's datasets (they must give the items it started with), frozen, and
    the run is marked `created`; nothing had run yet."""
    setup = build_setup(loaded, loaded.profile, rd)
    if setup.inputs().items_sha256 != manifest.inputs.items_sha256:
        raise RunError(f"run {rd.run_id} was interrupted while being created, and its datasets "
                       "now give different items - start it again (nothing had run): "
                       f"evalcli run --run-id {rd.run_id} ...")
    complete_creation(setup, manifest)
    return setup


def changes_since_start(setup: Setup, manifest: Manifest) -> list[str]:
    changes = []
    if config_hash(manifest.config) != manifest.config_hash:
        changes.append("config: the snapshot in run.json was edited (hash differs)")
    frozen_sha = manifest.inputs.items_sha256
    try:
        reloaded = load_sources(setup.profile.datasets, setup.loaded.base_dir,
                                limit_items=setup.profile.run.limit_items)
        blob = b"".join(msgspec.json.encode(item) + b"\n" for item in reloaded)
        if hashlib.sha256(blob).hexdigest() != frozen_sha:
            changes.append("items: the dataset files now give different items than the "
                           "frozen items.jsonl")
    except EvalcliError as exc:
        changes.append(f"items: the datasets cannot be reloaded ({exc.message})")
    if setup.inputs().items_sha256 != frozen_sha:
        changes.append("items: items.jsonl was modified")
    started = {p.name: p.sha256 for p in manifest.inputs.prompt_sets}
    for loaded in setup.prompt_sets:
        if started.get(loaded.name) != loaded.sha256:
            changes.append(f"prompts: {loaded.source} changed")
    old_model = manifest.environment.model
    if setup.engine.model_path and old_model is not None:
        new_model = environment.model_fingerprint(Path(setup.engine.model_path))
        if new_model["sha256"] != old_model.sha256:
            changes.append(f"model: {new_model['path']} is not the file the run started with")
    return changes


def add_abstain_phrases(rd: RunDir, manifest: Manifest, phrases: list[str]) -> list[str]:
    """Add refusal wordings to the run's [scoring] abstain_phrases (the config snapshot and
    its hash, recorded in events.jsonl): the score stage's inputs change, so it and the
    stages after it run again on the answers already recorded. Returns the phrases that
    were new."""
    scoring = manifest.config.setdefault("scoring", {})
    known = list(scoring.get("abstain_phrases") or [])
    added = [p.strip() for p in dict.fromkeys(phrases) if p.strip() and p.strip() not in known]
    if added:
        scoring["abstain_phrases"] = known + added
        manifest.config_hash = config_hash(manifest.config)
        write_manifest(rd.manifest, manifest)
        events = EventLog(rd.events)
        try:
            events.emit(ScoringChanged(abstain_phrases_added=added))
        finally:
            events.close()
    return added


def record_forced(rd: RunDir, changes: list[str]) -> None:
    events = EventLog(rd.events)
    events.emit(ResumeForced(changes=changes))
    events.close()
