"""Profiles: TOML decoded straight into frozen Structs, with errors that name file and key.

    profile TOML ──decode──► Profile ──check_profile──► CLI overrides ──recheck_profile──► run
        unknown key / wrong type / out of range → ConfigError("<file>: <key> = <value> — <fix>")

Every range is part of the types (msgspec Meta constraints, Literal words; the building
blocks are in engines/base.py), so decoding checks it; check_profile adds only what a type
cannot say (the engine exists, no sweep value twice, each variant's engine options).
`run.max_units` bounds the plan (checked in run/pipeline.py once the items are counted).

A profile is a bundled name (profiles/<name>.toml, found through importlib.resources) or a
path to a .toml file. `[engine.options]` is validated against the chosen engine's own
Options struct, in this (parent) process, before any worker is spawned.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

import profiles
from engines import engine_class, engine_names
from engines.base import MAX_SEED, ConfigStruct, FloatRange, IntRange, Seconds
from evalcli.errors import ConfigError
from evalcli.inputs.config_errors import describe_validation_error
from evalcli.inputs.datasets import DatasetSource
from evalcli.inputs.yaml_config import SUFFIXES as YAML_SUFFIXES
from evalcli.inputs.yaml_config import looks_like_yaml
from evalcli.inputs.yaml_config import pointer as yaml_pointer

NonEmpty = msgspec.Meta(min_length=1)
Temperature = FloatRange(ge=0, le=100)
TopP = FloatRange(gt=0, le=1)
TopK = IntRange(0, 1_000_000)  # 0 = off
Seed = IntRange(0, MAX_SEED)
Margin = FloatRange(gt=0, lt=1)  # a difference in [0, 1] units: 0.02 = 2 points
DEFAULT_MAX_UNITS = 1_000_000


class EngineConfig(ConfigStruct):
    name: str
    workers: IntRange(1, 1024) = 1
    options: dict[str, Any] = {}
    # a sweep over models / engine option sets: each table overrides `options`; one set of
    # trials per variant, and a worker loads each variant's model once
    variants: list[dict[str, Any]] = []

    def option_sets(self) -> list[dict[str, Any]]:
        """The options of every variant (just `options` without variants)."""
        if not self.variants:
            return [dict(self.options)]
        return [{**self.options, **variant} for variant in self.variants]


class MaxTokens(ConfigStruct):
    open: IntRange(1, 1 << 24) = 48
    closed: IntRange(1, 1 << 24) = 32


class SamplingConfig(ConfigStruct):
    temperatures: Annotated[list[Temperature], NonEmpty] = msgspec.field(
        default_factory=lambda: [0.0])
    samples_per_item: IntRange(1, 1_000_000) = 1
    # top_p, top_k and max_tokens take one value, or a list of values: a sweep (one trial each)
    top_p: TopP | Annotated[list[TopP], NonEmpty] = 1.0
    top_k: TopK | Annotated[list[TopK], NonEmpty] = 40
    seed: Seed = 1234
    stop: list[str] = []
    repeat_penalty: FloatRange(gt=0, le=100) = 1.0
    max_tokens: MaxTokens | Annotated[list[MaxTokens], NonEmpty] = MaxTokens()

    @property
    def top_p_values(self) -> list[float]:
        return list(self.top_p) if isinstance(self.top_p, list) else [self.top_p]

    @property
    def top_k_values(self) -> list[int]:
        return list(self.top_k) if isinstance(self.top_k, list) else [self.top_k]

    @property
    def max_tokens_values(self) -> list[MaxTokens]:
        return list(self.max_tokens) if isinstance(self.max_tokens, list) else [self.max_tokens]


class PromptsConfig(ConfigStruct):
    # a bundled prompt set name or a path to a prompt-set TOML file — or a list of them: a
    # sweep, one trial per prompt set (and temperature); identical units run once
    set: str | Annotated[list[str], NonEmpty] = "default"

    @property
    def names(self) -> list[str]:
        return [self.set] if isinstance(self.set, str) else list(self.set)


class ScoringConfig(ConfigStruct):
    abstain_phrases: list[str] = []  # extra phrases, added to the built-in ones
    unsupported_strategy: Literal["baseline", "overlap"] = "baseline"
    overlap_threshold: FloatRange(ge=0, le=1) = 0.5


class StatsConfig(ConfigStruct):
    seed: Seed = 1337
    bootstrap_samples: IntRange(1, 1_000_000) = 5000
    permutation_samples: IntRange(0, 1_000_000) = 5000  # 0 = no permutation p-values
    confidence: FloatRange(gt=0, lt=1) = 0.95
    tost_margins: dict[str, Margin] = msgspec.field(
        default_factory=lambda: {"em": 0.02, "f1": 0.02}
    )


GatedMetric = Literal["em", "f1", "false_answer_rate"]  # metrics with a worse direction
Points = FloatRange(gt=0, le=100)


class GateConfig(ConfigStruct):
    """`[gate]`: what `evalcli gate` requires of a finished run (docs/ci.md). Margins and
    limits are in percentage points / percent, like the report."""

    # treatment not worse than control by more than this many points (95% CI bound)
    non_inferior: dict[GatedMetric, Points] = {}
    # no significant worsening (the report's verdict "worse"): passes an underpowered run
    not_worse: list[GatedMetric] = []
    no_failed_units: bool = False
    max_truncated_pct: FloatRange(ge=0, le=100) | None = None  # answers cut at max_tokens
    max_empty_pct: FloatRange(ge=0, le=100) | None = None  # empty answers


class PricingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[pricing]` in a profile: prices per million tokens. Leave both unset for no cost."""

    input_per_million: FloatRange(ge=0, le=1e9) | None = None
    output_per_million: FloatRange(ge=0, le=1e9) | None = None
    currency: str = "USD"

    def __post_init__(self) -> None:
        if (self.input_per_million is None) != (self.output_per_million is None):
            raise ValueError("set both pricing.input_per_million and pricing.output_per_million"
                             " (or neither, for tokens only)")

    @property
    def priced(self) -> bool:
        return self.input_per_million is not None and self.output_per_million is not None

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float | None:
        if not self.priced:
            return None
        return (prompt_tokens * self.input_per_million
                + completion_tokens * self.output_per_million) / 1e6


DEFAULT_ARM_BLOCK_ITEMS = 32  # docs/performance.md: what blocks cost on the demo


class RunConfig(ConfigStruct):
    limit_items: IntRange(0) = 0  # per dataset source; 0 = all
    unit_timeout_s: Seconds = 600.0  # a worker busy longer than this on one unit is killed
    max_crashes_per_unit: IntRange(1, 1000) = 3  # a unit that took down this many workers fails
    max_engine_retries: IntRange(0, 1000) = 2  # retries of a unit after a retryable engine error
    max_consecutive_failures: IntRange(0) = 10  # units failed in a row → stop; 0 = never
    # the most units a run may plan (a typo such as samples_per_item = 1e9 is refused before
    # anything is written); raise it here or with --max-units
    max_units: IntRange(1) = DEFAULT_MAX_UNITS
    # items per arm block: the arms alternate ABBA… every this many items (the KV cache is
    # reused inside a block, drift in the machine falls on every arm); 0 = fully grouped
    arm_block_items: IntRange(0) = DEFAULT_ARM_BLOCK_ITEMS


class StoppingConfig(ConfigStruct):
    """`[stopping]`: a sequential run that stops at the verdict (docs/statistics.md,
    "Sequential runs"). Absent = a fixed-n run over every item."""

    metric: Literal["em", "f1", "abstain_rate"] = "em"  # a per-item value in [0, 1]
    arms: Annotated[list[str], msgspec.Meta(min_length=2, max_length=2)] = msgspec.field(
        default_factory=lambda: ["control", "treatment"])
    alpha: FloatRange(gt=0, lt=1) = 0.05
    margin: FloatRange(ge=0, lt=1) = 0.02  # equivalence margin (0.02 = 2 points)
    min_items: IntRange(1) = 40
    max_items: IntRange(0) = 0  # 0 = every item
    block_size: IntRange(1) = 20
    seed: Seed = 2024  # the item order
    # "anytime": the betting confidence sequence, valid under any stopping (open-ended
    # monitoring); "group-sequential": α-spending boundaries over a planned maximum
    # (max_items, or every item) — fewer items at the power users plan for
    design: Literal["anytime", "group-sequential"] = "anytime"
    spending: Literal["power", "obrien-fleming", "pocock"] = "power"  # group-sequential only
    rho: FloatRange(gt=0, le=10) = 1.5  # the exponent of "power" spending, α·t^rho

    @property
    def control(self) -> str:
        return self.arms[0]

    @property
    def spending_label(self) -> str:
        """"power 1.5", "obrien-fleming", "pocock"; "" for the anytime-valid design."""
        if self.design != "group-sequential":
            return ""
        return f"power {self.rho:g}" if self.spending == "power" else self.spending

    @property
    def treatment(self) -> str:
        return self.arms[1]


def validate_stopping(stopping: StoppingConfig, label: str) -> None:
    """What the types cannot say: two different arms, max_items >= min_items."""
    s = stopping
    bad = None
    if s.arms[0] == s.arms[1]:
        bad = f"arms = {s.arms} — give two different condition names, control first"
    elif s.max_items and s.max_items < s.min_items:
        bad = f"max_items = {s.max_items} — give 0 (every item) or a number >= min_items"
    if bad:
        raise ConfigError(f"{label}: stopping.{bad}")


class TelemetryConfig(ConfigStruct):
    """`[telemetry]`: GPU sampling (NVML) over the generate stage, into telemetry.jsonl."""

    enabled: bool = True
    interval_s: FloatRange(ge=0.05, le=3600) = 1.0


class CacheConfig(ConfigStruct):
    """`[cache]`: reuse of finished answers across runs (docs/reuse.md). Off unless asked."""

    reuse: bool = False  # take a unit's answer from the answer store when its key is there
    # also for engines whose answers come from a server evalcli does not control (openai):
    # keyed on the base URL(s) and the model name only
    remote: bool = False
    # re-run this many randomly chosen units in fresh workers after generate and compare
    check_determinism: IntRange(0, 100_000) = 0
    path: str = ""  # the store ("" = answers.sqlite3 in the user's cache folder)


class Profile(ConfigStruct):
    engine: EngineConfig
    description: str = ""
    sampling: SamplingConfig = SamplingConfig()
    datasets: list[DatasetSource] = msgspec.field(
        default_factory=lambda: [DatasetSource(format="sample")]
    )
    prompts: PromptsConfig = PromptsConfig()
    scoring: ScoringConfig = ScoringConfig()
    stats: StatsConfig = StatsConfig()
    run: RunConfig = RunConfig()
    pricing: PricingConfig = PricingConfig()
    stopping: StoppingConfig | None = None
    telemetry: TelemetryConfig = TelemetryConfig()
    gate: GateConfig = GateConfig()
    cache: CacheConfig = CacheConfig()


class LoadedProfile(msgspec.Struct, frozen=True):
    profile: Profile
    name: str  # bundled name or file stem
    source: str  # "bundled:<name>" or the file path
    base_dir: Path  # relative paths in the profile resolve against this


def load_profile(name_or_path: str) -> LoadedProfile:
    """Read a bundled profile by name, or a profile file by path."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists() or any(sep in name_or_path for sep in "/\\"):
        if path.suffix.lower() in YAML_SUFFIXES and path.is_file():
            raise ConfigError(yaml_pointer(str(path)))
        if not path.is_file():
            raise ConfigError(
                f"{path}: profile file not found — give a bundled profile name "
                f"({', '.join(profiles.bundled_profiles())}) or a path to a .toml file"
            )
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM (Notepad's "UTF-8") is fine
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}) — save the profile "
                              "as UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read profile ({exc.strerror or exc})") from None
        label, name, base_dir = str(path), path.stem, path.resolve().parent
    else:
        text = profiles.bundled_profile_text(name_or_path)
        if text is None:
            raise ConfigError(
                f"profile {name_or_path!r} not found — bundled profiles are: "
                f"{', '.join(profiles.bundled_profiles())}; or pass a path to a .toml file"
            )
        label, name, base_dir = f"bundled:{name_or_path}", name_or_path, Path.cwd()
    return LoadedProfile(decode_profile(text, label), name, label, base_dir)


def decode_profile(text: str, label: str) -> Profile:
    """The Profile in `text`, every value checked (types, ranges, engine options), or one
    ConfigError naming `label`, the key, the value and the fix."""
    data = text.removeprefix("\ufeff").encode("utf-8", "surrogatepass")
    try:
        profile = msgspec.toml.decode(data, type=Profile)
    except msgspec.ValidationError as exc:
        raw = _raw_toml(data)
        raise ConfigError(f"{label}: {describe_validation_error(exc, root=Profile, raw=raw)}"
                          ) from None
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:
        if looks_like_yaml(text):
            raise ConfigError(yaml_pointer(label)) from None
        raise ConfigError(f"{label}: not valid TOML ({_one_line(exc)})") from None
    return check_profile(profile, label)


def check_profile(profile: Profile, label: str) -> Profile:
    """What the types cannot say: the engine exists, sweep lists hold no value twice, the
    engine options (each variant's) and `[stopping]` make sense."""
    if profile.engine.name not in engine_names():
        raise ConfigError(
            f"{label}: engine.name = {profile.engine.name!r} is not an engine — "
            f"use one of: {', '.join(engine_names())}"
        )
    s = profile.sampling
    for key, values in (("top_p", s.top_p_values), ("top_k", s.top_k_values),
                        ("max_tokens", s.max_tokens_values)):
        if len(set(map(str, values))) < len(values):
            raise ConfigError(f"{label}: sampling.{key} lists a value twice — list each once")
    validate_variants(profile.engine, label)
    if profile.stopping is not None:
        validate_stopping(profile.stopping, label)
    return profile


# the profile key each command-line flag sets (messages name the flag)
FLAG_KEYS = {"engine.workers": "--workers", "run.limit_items": "--limit-items",
             "run.max_units": "--max-units", "engine.options.model": "--model"}


def recheck_profile(profile: Profile, label: str) -> Profile:
    """The profile after command-line overrides, checked exactly like a decoded one: a bad
    flag value is one line naming the flag (e.g. `--workers 0 — give a whole number ...`)."""
    raw = msgspec.to_builtins(profile)
    try:
        profile = msgspec.convert(raw, type=Profile)
    except msgspec.ValidationError as exc:
        message = describe_validation_error(exc, root=Profile, raw=raw, flags=FLAG_KEYS)
        raise ConfigError(f"{label}: {message}") from None
    return check_profile(profile, label)


def _raw_toml(data: bytes) -> Any:
    try:
        return msgspec.toml.decode(data)
    except Exception:  # noqa: BLE001 - only used to quote the bad value
        return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def validate_engine_options(engine: EngineConfig, label: str) -> Any:
    """The engine's Options struct for `engine.options`, or ConfigError naming the key."""
    return _convert_options(engine.name, engine.options, label, "engine.options")


def validate_variants(engine: EngineConfig, label: str) -> list[Any]:
    """One Options struct per variant (`engine.variants[i]` over `engine.options`)."""
    if not engine.variants:
        return [validate_engine_options(engine, label)]
    return [_convert_options(engine.name, options, label, f"engine.variants[{i}]")
            for i, options in enumerate(engine.option_sets())]


def _convert_options(name: str, options: dict, label: str, prefix: str) -> Any:
    cls = engine_class(name).Options
    try:
        return msgspec.convert(options, cls)
    except msgspec.ValidationError as exc:
        message = describe_validation_error(exc, prefix=prefix, root=cls, raw=options)
        raise ConfigError(f"{label}: {message}") from None


def config_hash(snapshot: dict) -> str:
    return hashlib.sha256(msgspec.json.encode(snapshot, order="sorted")).hexdigest()


def replace_engine(profile: Profile, **changes: Any) -> Profile:
    return msgspec.structs.replace(profile, engine=msgspec.structs.replace(profile.engine, **changes))


def replace_cache(profile: Profile, *, reuse: bool = False,
                  check_determinism: int | None = None) -> Profile:
    """--reuse (turns reuse on; never off) and --check-determinism K over the profile's
    [cache]."""
    changes: dict[str, Any] = {"reuse": True} if reuse else {}
    if check_determinism is not None:
        if not 0 <= check_determinism <= 100_000:
            raise ConfigError(f"--check-determinism {check_determinism} — give a whole number "
                              "from 0 (no check) to 100000")
        changes["check_determinism"] = check_determinism
    return msgspec.structs.replace(profile,
                                   cache=msgspec.structs.replace(profile.cache, **changes))


def replace_run(profile: Profile, **changes: Any) -> Profile:
    return msgspec.structs.replace(profile, run=msgspec.structs.replace(profile.run, **changes))
