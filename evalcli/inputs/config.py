"""Profiles: TOML decoded straight into frozen Structs, with errors that name file and key.

    profile TOML ──decode──► Profile ──CLI overrides──► resolve_engine_options ──► RunConfig
                   unknown key / wrong type → ConfigError("<file>: <key>: <problem> — <fix>")

A profile is a bundled name (profiles/<name>.toml, found through importlib.resources) or a
path to a .toml file. `[engine.options]` is validated against the chosen engine's own
Options struct, in this (parent) process, before any worker is spawned.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import msgspec

import profiles
from engines import engine_class, engine_names
from engines.base import ConfigStruct
from evalcli.errors import ConfigError
from evalcli.inputs.datasets import DatasetSource


class EngineConfig(ConfigStruct):
    name: str
    workers: int = 1
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
    open: int = 48
    closed: int = 32


class SamplingConfig(ConfigStruct):
    temperatures: list[float] = msgspec.field(default_factory=lambda: [0.0])
    samples_per_item: int = 1
    # top_p, top_k and max_tokens take one value, or a list of values: a sweep (one trial each)
    top_p: float | list[float] = 1.0
    top_k: int | list[int] = 40
    seed: int = 1234
    stop: list[str] = []
    repeat_penalty: float = 1.0
    max_tokens: MaxTokens | list[MaxTokens] = MaxTokens()

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
    set: str | list[str] = "default"

    @property
    def names(self) -> list[str]:
        return [self.set] if isinstance(self.set, str) else list(self.set)


class ScoringConfig(ConfigStruct):
    abstain_phrases: list[str] = []  # extra phrases, added to the built-in ones
    unsupported_strategy: str = "baseline"  # "baseline" | "overlap"
    overlap_threshold: float = 0.5


class StatsConfig(ConfigStruct):
    seed: int = 1337
    bootstrap_samples: int = 5000
    permutation_samples: int = 5000
    confidence: float = 0.95
    tost_margins: dict[str, float] = msgspec.field(
        default_factory=lambda: {"em": 0.02, "f1": 0.02}
    )


class PricingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[pricing]` in a profile: prices per million tokens. Leave both unset for no cost."""

    input_per_million: float | None = None
    output_per_million: float | None = None
    currency: str = "USD"

    def __post_init__(self) -> None:
        given = [p for p in (self.input_per_million, self.output_per_million) if p is not None]
        if len(given) == 1:
            raise ValueError("set both pricing.input_per_million and pricing.output_per_million"
                             " (or neither, for tokens only)")
        if any(p < 0 for p in given):
            raise ValueError("pricing: prices per million tokens must be >= 0")

    @property
    def priced(self) -> bool:
        return self.input_per_million is not None and self.output_per_million is not None

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float | None:
        if not self.priced:
            return None
        return (prompt_tokens * self.input_per_million
                + completion_tokens * self.output_per_million) / 1e6


class RunConfig(ConfigStruct):
    limit_items: int = 0  # per dataset source; 0 = all
    unit_timeout_s: float = 600.0  # a worker busy longer than this on one unit is killed
    max_crashes_per_unit: int = 3  # a unit that took down this many workers is recorded failed
    max_engine_retries: int = 2  # retries of a unit after a retryable engine error
    max_consecutive_failures: int = 10  # units failed in a row → stop (resumable); 0 = never


class StoppingConfig(ConfigStruct):
    """`[stopping]`: a sequential run that stops at the verdict (docs/statistics.md,
    "Sequential runs"). Absent = a fixed-n run over every item."""

    metric: str = "em"  # the primary metric: a per-item value in [0, 1]
    arms: list[str] = msgspec.field(default_factory=lambda: ["control", "treatment"])
    alpha: float = 0.05
    margin: float = 0.02  # equivalence margin (difference units: 0.02 = 2 points)
    min_items: int = 40
    max_items: int = 0  # 0 = every item
    block_size: int = 20
    seed: int = 2024  # the item order

    @property
    def control(self) -> str:
        return self.arms[0]

    @property
    def treatment(self) -> str:
        return self.arms[1]


STOPPING_METRICS = ("em", "f1", "abstain_rate")


def validate_stopping(stopping: StoppingConfig, label: str) -> None:
    s = stopping
    bad = None
    if s.metric not in STOPPING_METRICS:
        bad = f"metric = {s.metric!r} — use one of: {', '.join(STOPPING_METRICS)}"
    elif len(s.arms) != 2 or s.arms[0] == s.arms[1]:
        bad = f"arms = {s.arms} — give two condition names, control first"
    elif not 0.0 < s.alpha < 1.0:
        bad = f"alpha = {s.alpha} — give a value in (0, 1), e.g. 0.05"
    elif not 0.0 <= s.margin < 1.0:
        bad = f"margin = {s.margin} — give a difference in [0, 1), e.g. 0.02 for 2 points"
    elif s.block_size < 1 or s.min_items < 1:
        bad = "block_size and min_items must be >= 1"
    elif s.max_items < 0 or (s.max_items and s.max_items < s.min_items):
        bad = f"max_items = {s.max_items} — give 0 (every item) or a number >= min_items"
    if bad:
        raise ConfigError(f"{label}: stopping.{bad}")
class TelemetryConfig(ConfigStruct):
    """`[telemetry]`: GPU sampling (NVML) over the generate stage, into telemetry.jsonl."""

    enabled: bool = True
    interval_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0.05 <= self.interval_s <= 3600:
            raise ValueError("telemetry.interval_s must be between 0.05 and 3600 seconds")


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


class LoadedProfile(msgspec.Struct, frozen=True):
    profile: Profile
    name: str  # bundled name or file stem
    source: str  # "bundled:<name>" or the file path
    base_dir: Path  # relative paths in the profile resolve against this


def load_profile(name_or_path: str) -> LoadedProfile:
    """Read a bundled profile by name, or a profile file by path."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists() or any(sep in name_or_path for sep in "/\\"):
        if not path.is_file():
            raise ConfigError(
                f"{path}: profile file not found — give a bundled profile name "
                f"({', '.join(profiles.bundled_profiles())}) or a path to a .toml file"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read profile ({exc})") from None
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
    try:
        profile = msgspec.toml.decode(text.encode("utf-8"), type=Profile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{label}: {describe_validation_error(exc)}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML ({exc})") from None
    if profile.engine.name not in engine_names():
        raise ConfigError(
            f"{label}: engine.name = {profile.engine.name!r} is not an engine — "
            f"use one of: {', '.join(engine_names())}"
        )
    if profile.engine.workers < 1:
        raise ConfigError(f"{label}: engine.workers = {profile.engine.workers} — must be >= 1")
    s = profile.sampling
    if not s.temperatures or any(t < 0 for t in s.temperatures):
        raise ConfigError(f"{label}: sampling.temperatures = {s.temperatures} — give >= 0 values")
    if s.samples_per_item < 1:
        raise ConfigError(f"{label}: sampling.samples_per_item must be >= 1")
    for key, values in (("top_p", s.top_p_values), ("top_k", s.top_k_values),
                        ("max_tokens", s.max_tokens_values)):
        if not values:
            raise ConfigError(f"{label}: sampling.{key} = [] — give one value or a list of them")
        if len(set(map(str, values))) < len(values):
            raise ConfigError(f"{label}: sampling.{key} lists a value twice — list each once")
    if any(not 0.0 < p <= 1.0 for p in s.top_p_values):
        raise ConfigError(f"{label}: sampling.top_p = {s.top_p} — give values in (0, 1]")
    if any(m.open < 1 or m.closed < 1 for m in s.max_tokens_values):
        raise ConfigError(f"{label}: sampling.max_tokens — open and closed must be >= 1")
    if not profile.prompts.names:
        raise ConfigError(f"{label}: prompts.set = [] — name at least one prompt set")
    if profile.scoring.unsupported_strategy not in ("baseline", "overlap"):
        raise ConfigError(
            f"{label}: scoring.unsupported_strategy = {profile.scoring.unsupported_strategy!r}"
            " — use \"baseline\" or \"overlap\""
        )
    validate_variants(profile.engine, label)
    if profile.stopping is not None:
        validate_stopping(profile.stopping, label)
    return profile


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
    try:
        return msgspec.convert(options, engine_class(name).Options)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{label}: {describe_validation_error(exc, prefix=prefix)}") from None


_PATH_RE = re.compile(r" - at `\$(.*)`$")


def describe_validation_error(exc: msgspec.ValidationError, prefix: str = "") -> str:
    """Turn msgspec's message into "key a.b.c: problem — fix"."""
    message = str(exc)
    match = _PATH_RE.search(message)
    where = match.group(1) if match else ""
    problem = message[: match.start()] if match else message
    key = (prefix + where).lstrip(".") or "(top level)"
    unknown = re.match(r"Object contains unknown field `(.+)`", problem)
    if unknown:
        full = f"{key}.{unknown.group(1)}" if key != "(top level)" else unknown.group(1)
        return f"unknown key {full} — remove it or fix its spelling (see docs/profiles.md)"
    missing = re.match(r"Object missing required field `(.+)`", problem)
    if missing:
        full = f"{key}.{missing.group(1)}" if key != "(top level)" else missing.group(1)
        return f"missing required key {full} — add it (see docs/profiles.md)"
    return f"key {key}: {problem} (see docs/profiles.md)"


def config_hash(snapshot: dict) -> str:
    return hashlib.sha256(msgspec.json.encode(snapshot, order="sorted")).hexdigest()


def replace_engine(profile: Profile, **changes: Any) -> Profile:
    return msgspec.structs.replace(profile, engine=msgspec.structs.replace(profile.engine, **changes))


def replace_run(profile: Profile, **changes: Any) -> Profile:
    return msgspec.structs.replace(profile, run=msgspec.structs.replace(profile.run, **changes))
