"""What `evalcli gate` reads: the run (a run id, folder or archive) and its criteria.

    RUN ──locate_run──► run.json (finished), significance.json and per_item_scores.csv of
                        every trial
    [gate] of --profile, else of the run's own config snapshot, plus the command-line flags
        ──► GateConfig (checked like any profile section: one line naming the bad value)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

from evalcli.errors import ConfigError, RunError
from evalcli.inputs.config import GateConfig, Profile, load_profile
from evalcli.report.verdict import metric_key
from evalcli.science.per_item import COUNTS, ItemTable
from evalcli.science.stats.schema import Significance, read_significance
from evalcli.store.manifest import Manifest, stopped_at_verdict
from evalcli.store.runinfo import load_manifest, locate_run


@dataclass
class GateInputs:
    manifest: Manifest
    significance: dict[str, Significance]
    trials: dict[str, ItemTable]


def load_gate_inputs(ref: str, runs_dir: Path, scratch: Path) -> GateInputs:
    rd, _ = locate_run(ref, runs_dir, scratch)
    manifest = load_manifest(rd)
    if manifest.status != "completed":
        raise RunError(f"run {manifest.run_id} is {manifest.status}, not completed - a gate "
                       f"needs its report: finish it with evalcli resume {manifest.run_id}")
    significance, trials = {}, {}
    for slug in manifest.trials:
        significance[slug] = read_significance(rd.significance(slug))
        trials[slug] = ItemTable.read(rd.per_item_scores(slug), ("abstain_rate", *COUNTS))
    return GateInputs(manifest, significance, trials)


def _metric(flag: str, name: str) -> str:
    key = metric_key(name)
    if key not in ("em", "f1", "false_answer_rate"):
        raise ConfigError(f"{flag} {name!r}: not a metric with a worse direction - use em, f1 "
                          "or false_answers (abstaining more is neither better nor worse)")
    return key


def criteria(manifest: Manifest, profile: str | None, *, non_inferior: list[str],
             not_worse: list[str], no_failed_units: bool, max_truncated: float | None,
             max_empty: float | None) -> GateConfig:
    """The [gate] section (of --profile, else the run's own), with the flags added; a
    ConfigError when nothing is asked."""
    if profile is not None:
        loaded = load_profile(profile)
        base, source = loaded.profile.gate, f"{loaded.source} [gate]"
    else:
        try:
            base = msgspec.convert(manifest.config, Profile).gate
        except msgspec.ValidationError:  # a snapshot from before [gate]: no criteria of its own
            base = GateConfig()
        source = f"run {manifest.run_id}'s [gate]"
    spec = msgspec.to_builtins(base)
    for item in non_inferior:
        metric, sep, points = item.rpartition(":")
        if not sep:
            raise ConfigError(f"--non-inferior {item!r}: give METRIC:POINTS, e.g. em:2")
        try:
            spec["non_inferior"][_metric("--non-inferior", metric)] = float(points)
        except ValueError:
            raise ConfigError(f"--non-inferior {item!r}: {points!r} is not a number of "
                              "points, e.g. em:2") from None
    spec["not_worse"] = list(dict.fromkeys(
        [*spec["not_worse"], *(_metric("--not-worse", m) for m in not_worse)]))
    spec["no_failed_units"] = spec["no_failed_units"] or no_failed_units
    for key, value in (("max_truncated_pct", max_truncated), ("max_empty_pct", max_empty)):
        if value is not None:
            spec[key] = value
    try:
        config = msgspec.convert(spec, GateConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"gate criteria: {exc} - margins are points above 0 and up to "
                          "100, limits percentages from 0 to 100") from None
    if (config.non_inferior or config.not_worse) and stopped_at_verdict(manifest):
        raise ConfigError(f"run {manifest.run_id} stopped early at its sequential verdict: its "
                          "fixed-n intervals are computed on an optionally stopped sample and "
                          "do not hold their level, so --non-inferior / --not-worse cannot be "
                          "judged on it - read its anytime-valid verdict (report headline), "
                          "or gate a run with a fixed number of items")
    if not (config.non_inferior or config.not_worse or config.no_failed_units
            or config.max_truncated_pct is not None or config.max_empty_pct is not None):
        raise ConfigError(f"no gate criteria: {source} is empty and no flag names one - e.g. "
                          "evalcli gate RUN --non-inferior em:2 --no-failed-units")
    return config
