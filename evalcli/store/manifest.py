"""run.json: what a run is (config snapshot, inputs, environment) and where it stands.

Written atomically; the supervisor refreshes the per-trial counts as units finish (at most
once a second, and always at the end), so finished work is never shown as pending. The
results files stay the source of truth: counts are recomputed from them on resume.
Schema: docs/run-directory.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import msgspec

from evalcli.errors import StoreWriteError
from evalcli.store.fsutil import atomic_write_bytes, utc_now

SCHEMA_VERSION = 1
STAGES = ("prepare", "plan", "generate", "parse", "score", "stats", "costs", "report")


# creating: run.json is written first, before items.jsonl and the environment; `resume`
# completes such a run and `run` with the same id discards it
RunStatus = Literal["creating", "created", "running", "stopped", "failed", "completed"]
StageStatus = Literal["pending", "running", "done", "failed", "skipped", "stopped"]


class StageState(msgspec.Struct, kw_only=True):
    status: StageStatus = "pending"
    started_at: str = ""
    ended_at: str = ""
    artifacts: list[str] = []
    inputs_hash: str = ""  # content hash of what the stage read (idempotence key)
    outputs: dict[str, str] = {}  # artifact -> sha256 as written: a changed output is redone
    error: str = ""


class MaxTokens(msgspec.Struct, kw_only=True):
    open: int
    closed: int

    def for_type(self, kind: str) -> int:
        return self.open if kind == "open" else self.closed


class TrialParams(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The settings every unit of a trial shares. Also part of the trial's identity (its
    slug's hash, run/plan.py): `model` and `prompt_format` are left out when empty, so a
    field added here later must default to a value it omits."""

    temperature: float
    top_p: float
    top_k: int
    max_tokens: MaxTokens
    stop: list[str]
    repeat_penalty: float
    seed: int
    samples_per_item: int
    prompt_set: str
    model: str = ""  # several models in the run: this trial's
    prompt_format: str = ""  # "chat" | "completion"; not part of the identity

    def get(self, key: str) -> object:
        """A setting by name, for tables of what varies between trials (None if unset)."""
        value = getattr(self, key, None)
        return value or None if key == "model" else value


class TrialState(msgspec.Struct, kw_only=True):
    temperature: float
    params: TrialParams | None = None  # None: a run.json written before it was recorded
    planned: int = 0  # units this trial runs itself
    shared: int = 0  # rows served by an identical unit of an earlier trial (a shared control)
    done: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0  # a sequential run that stopped at its verdict: units never run


class UnitOrder(msgspec.Struct, kw_only=True):
    trial: str
    condition: str
    units: int


class PlanSummary(msgspec.Struct, kw_only=True):
    """run.json `plan`: what the run was planned to do, written once at start."""

    units: int = 0
    items: int = 0
    conditions: list[str] = []
    control: str = ""
    prompt_sets: list[str] = []
    shared_units: int = 0
    temperatures: list[float] = []
    models: list[str] = []  # several models (engine variants) only
    samples_per_item: int = 1
    engine: str = ""
    workers: int = 0
    prompt_format: str = ""
    worker_note: str = ""
    trials: list[str] = []
    # the order units are handed out: groups sharing a system prompt, each kept on a worker
    order: list[UnitOrder] = []


Decision = Literal["difference", "equivalence", "maximum"]
# a difference's direction; "treatment higher/lower" for a metric where neither is better
Direction = Literal["", "treatment better", "control better", "treatment higher",
                    "treatment lower"]


class LookRecord(msgspec.Struct, kw_only=True):
    """One look of a sequential run at its complete blocks (run/stopping.py's Look)."""

    blocks: int
    items: int  # paired items in the stream
    of_items: int  # planned items (the maximum)
    control_mean: float | None = None
    treatment_mean: float | None = None
    estimate: float | None = None
    lo: float | None = None  # the anytime-valid interval
    hi: float | None = None
    decision: Decision | None = None  # None: go on
    dropped: int = 0
    direction: Direction = ""
    # group-sequential design: the look's number (1-based, looks from min_items on) and its
    # boundary |z| (None: the anytime-valid design, or a look before min_items)
    look_number: int | None = None
    bound: float | None = None
    adjusted_estimate: float | None = None  # group-sequential, at a decision: median-unbiased


class Stopping(msgspec.Struct, kw_only=True):
    """run.json `stopping` (a sequential run): the arms, α, margin, the look it ended on."""

    metric: str
    control: str
    treatment: str
    alpha: float
    margin: float
    min_items: int
    block_size: int
    items_planned: int
    stopped_early: bool = False
    look: LookRecord | None = None
    skipped_units: int = 0
    continued_past: LookRecord | None = None  # resumed past an earlier verdict: that look
    design: str = "anytime"  # or "group-sequential" (docs/statistics.md, Sequential runs)
    spending: str = ""  # group-sequential: the α-spending function, e.g. "power 1.5"


class PromptSetInput(msgspec.Struct, kw_only=True):
    name: str
    source: str = ""
    sha256: str = ""
    system_prompt_sha256: dict[str, str] = {}  # condition -> sha256 of its system prompt


class RunInputs(msgspec.Struct, kw_only=True):
    """run.json `inputs`: what the run read, by content hash (resume checks them)."""

    items_sha256: str = ""
    items: int = 0
    prompt_sets: list[PromptSetInput] = []


class ModelFile(msgspec.Struct, kw_only=True):
    path: str
    size: int
    sha256: str


class RunEnvironment(msgspec.Struct, kw_only=True, omit_defaults=True):
    """run.json `environment`: what the run ran on (evalcli/environment.py collects it)."""

    python: str = ""
    implementation: str = ""
    os: str = ""
    machine: str = ""
    packages: dict[str, str] = {}
    gpus: list[dict[str, Any]] = []  # index, name, memory_total_mb, memory_used_mb, driver
    model: ModelFile | None = None  # a model file the engine loads
    engine_options: dict[str, Any] = {}  # the engine's Options as resolved (engines/*.py)
    engine_variants: list[dict[str, Any]] = []  # a model sweep: each variant's options
    engine: dict[str, str] = {}  # what the engine reported when it was ready (ipc Ready.info)


class AnswerReuse(msgspec.Struct, kw_only=True):
    """`reuse`: answers taken from the answer store instead of the model (docs/reuse.md),
    counted over every generate session of the run."""

    store: str  # the SQLite file
    reused: int = 0  # units answered from the store
    from_runs: dict[str, int] = {}  # run id -> units reused from it
    stored: int = 0  # fresh answers this run added to the store
    notes: list[str] = []  # why reuse was off (store unusable, a model refused, ...)


class Rerun(msgspec.Struct, kw_only=True):
    """One unit of the determinism check whose re-run answer differs from the recorded one."""

    custom_id: str
    recorded: str
    rerun: str
    reused_from: str = ""  # the recorded answer came from the store ("run:unit")


class DeterminismCheck(msgspec.Struct, kw_only=True):
    """`determinism`: K finished units run again in fresh workers and compared."""

    checked: int  # units re-run that answered
    identical: int
    reused_checked: int = 0  # of them, units whose recorded answer came from the store
    differing: list[Rerun] = []
    failed: int = 0  # re-runs that failed (not compared)
    reuse_turned_off: list[str] = []  # models whose reuse the check turned off


class Manifest(msgspec.Struct, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    updated_at: str = ""
    status: RunStatus = "created"
    profile: str = ""
    profile_source: str = ""
    base_dir: str = ""  # relative paths in the profile resolve against this folder
    config: dict[str, Any] = {}  # the profile as resolved: inputs/config.py's Profile
    config_hash: str = ""
    inputs: RunInputs = msgspec.field(default_factory=RunInputs)
    environment: RunEnvironment = msgspec.field(default_factory=RunEnvironment)
    plan: PlanSummary = msgspec.field(default_factory=PlanSummary)
    stages: dict[str, StageState] = {}
    trials: dict[str, TrialState] = {}
    # a batch engine's job state, owned and read by engines/batch.py: a resume re-attaches
    batch: dict[str, Any] = {}
    # a sequential run ([stopping]); absent (not written) for a fixed-n run
    stopping: Stopping | msgspec.UnsetType = msgspec.UNSET
    # answers reused from the answer store; absent when reuse was off
    reuse: AnswerReuse | msgspec.UnsetType = msgspec.UNSET
    # the determinism check (--check-determinism K); absent when not asked for
    determinism: DeterminismCheck | msgspec.UnsetType = msgspec.UNSET
    pid: int = 0  # the process that last ran the generate stage
    # salted hashes of the API keys' 8-character windows (engines/secrets.py fingerprint):
    # `archive` cuts the keys out by this, whatever the shell it runs in; never a key
    secrets: dict[str, Any] = {}  # shape owned by engines/secrets.py
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
    return isinstance(manifest.stopping, Stopping) and manifest.stopping.stopped_early


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
    """run.json; msgspec.ValidationError when a newer evalcli wrote it (its fields may mean
    what this version cannot know, and a resume here would overwrite them)."""
    manifest = msgspec.json.decode(path.read_bytes(), type=Manifest)
    newer = newer_schema(manifest.schema_version)
    if newer:
        raise msgspec.ValidationError(newer)
    return manifest


def newer_schema(version: object) -> str:
    """Why run.json's schema_version cannot be read here ("" when it can)."""
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return (f"schema_version {version} was written by a newer evalcli; this one reads up "
                f"to {SCHEMA_VERSION}: upgrade evalcli (pip install -U evalcli)")
    return ""
