"""run.json: what a run is (config snapshot, inputs, environment) and where it stands.

Written atomically; the supervisor refreshes the per-trial counts as units finish (at most
once a second, and always at the end), so finished work is never shown as pending. The
results files stay the source of truth: counts are recomputed from them on resume.
Schema: docs/run-directory.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from evalcli.errors import StoreWriteError
from evalcli.store.fsutil import atomic_write_bytes, utc_now

SCHEMA_VERSION = 1
STAGES = ("prepare", "plan", "generate", "parse", "score", "stats", "costs", "report")


class StageState(msgspec.Struct, kw_only=True):
    status: str = "pending"  # pending | running | done | failed | skipped
    started_at: str = ""
    ended_at: str = ""
    artifacts: list[str] = []
    inputs_hash: str = ""  # content hash of what the stage read (idempotence key)
    outputs: dict[str, str] = {}  # artifact -> sha256 as written: a changed output is redone
    error: str = ""


class TrialState(msgspec.Struct, kw_only=True):
    temperature: float
    params: dict = {}
    planned: int = 0  # units this trial runs itself
    shared: int = 0  # rows served by an identical unit of an earlier trial (a shared control)
    done: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0  # a sequential run that stopped at its verdict: units never run


class Manifest(msgspec.Struct, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    updated_at: str = ""
    status: str = "created"  # creating | created | running | stopped | failed | completed
    profile: str = ""
    profile_source: str = ""
    base_dir: str = ""  # relative paths in the profile resolve against this folder
    config: dict = {}
    config_hash: str = ""
    inputs: dict = {}  # items sha256, prompt-set sha256, per-condition prompt sha256
    environment: dict = {}
    plan: dict = {}  # units, items, conditions, workers
    stages: dict[str, StageState] = {}
    trials: dict[str, TrialState] = {}
    batch: dict = {}  # a batch engine's job state (ids, status): a resume re-attaches
    # a sequential run ([stopping]): the look it ended on and whether it stopped early;
    # absent (not written) for a fixed-n run
    stopping: dict | msgspec.UnsetType = msgspec.UNSET
    pid: int = 0  # the process that last ran the generate stage
    # salted hashes of the API keys' 8-character windows (engines/secrets.py fingerprint):
    # `archive` cuts the keys out by this, whatever the shell it runs in; never a key
    secrets: dict = {}
    error: str = ""

    def stage(self, name: str) -> StageState:
        if name not in self.stages:
            self.stages[name] = StageState()
        return self.stages[name]

    def start_stage(self, name: str) -> None:
        stage = self.stage(name)
        stage.status, stage.started_at, stage.ended_at, stage.error = "running", utc_now(), "", ""

    def finish_stage(self, name: str, artifacts: list[str]) -> None:
        stage = self.stage(name)
        stage.status, stage.ended_at, stage.artifacts = "done", utc_now(), artifacts
        stage.started_at = stage.started_at or stage.ended_at


def stopped_at_verdict(manifest: Manifest) -> bool:
    """The run stopped early at its sequential verdict: its missing units are skipped."""
    return bool(manifest.stopping) and bool(manifest.stopping.get("stopped_early"))


def new_manifest(run_id: str) -> Manifest:
    return Manifest(run_id=run_id, created_at=utc_now(),
                    stages={name: StageState() for name in STAGES})


def write_manifest(path: Path, manifest: Manifest) -> None:
    manifest.updated_at = utc_now()
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


def write_manifest_last(path: Path, manifest: Manifest) -> bool:
    """The final word on a run that is ending badly (disk full): an atomic write, else an
    in-place overwrite (it needs no new temp file); False when neither worked."""
    try:
        write_manifest(path, manifest)
        return True
    except StoreWriteError:
        pass
    data = msgspec.json.encode(manifest) + b"\n"
    try:
        with open(path, "r+b") as fh:
            fh.write(data)
            fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
        return True
    except OSError:
        return False


def read_manifest(path: Path) -> Manifest:
    return msgspec.json.decode(path.read_bytes(), type=Manifest)
