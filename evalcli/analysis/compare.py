"""Compare runs: pair them on the items and conditions they share, then the run report's
statistics on every requested pair of cells.

    RUN id / run folder / archive ──load_run──► RunData (run.json, items, per trial: score rows)
    run × run ──item_overlap──► shared keys (dataset|item_id with the same question, passage
                                and gold answers); a changed question is excluded and counted
    cells = run × trial × condition ──matrix──► per type: mean + 95% interval per metric,
                                                on the items every run shares
    pairs (cell A, cell B) ──build_significance──► per type: Δ = B − A, bootstrap CI, p,
                                McNemar, TOST, MDE (the very function a run's stats stage uses)
        └─► q = Benjamini–Hochberg over the declared family: every (pair, type, metric) on
            all datasets — recomputed across pairs, so q accounts for every comparison made

A cell is named `RUN[/TRIAL]:CONDITION`: RUN is the run's position (1, 2, …) or its label,
TRIAL the trial's position in that run (or its slug), needed only when a run has several.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from evalcli.errors import ConfigError, DataError, RunError
from evalcli.inputs.config import Profile, StatsConfig
from evalcli.inputs.items import Item, read_items
from evalcli.report.verdict import VERDICT_METRICS, metric_key
from evalcli.science.per_item import ItemRow, read_per_item
from evalcli.science.stats.intervals import mean_interval, mean_interval_method
from evalcli.science.stats.multiple import benjamini_hochberg
from evalcli.science.stats.schema import (
    CellMean,
    CellPair,
    CompareResult,
    CompareSettings,
    MatrixEntry,
    Overlap,
    PairComparison,
    RunFacts,
    TrialRef,
)
from evalcli.science.stats.significance import build_significance
from evalcli.store.manifest import Manifest
from evalcli.store.rundir import RunDir
from evalcli.store.runinfo import load_manifest, locate_run

_VARYING = ("model", "prompt_set", "temperature", "top_p", "top_k", "max_tokens")


@dataclass
class TrialData:
    slug: str
    label: str  # what sets it apart within its run ("T=0.7, top_p=0.9"); "" for a lone trial
    rows: list[ItemRow]


@dataclass
class RunData:
    label: str
    source: str
    manifest: Manifest
    items: dict[str, Item]
    trials: list[TrialData]

    @property
    def conditions(self) -> list[str]:
        return list(self.manifest.plan.conditions or dict.fromkeys(
            r.condition for t in self.trials for r in t.rows))


@dataclass(frozen=True)
class Cell:
    run: int
    trial: int
    condition: str
    label: str


@dataclass
class Comparison:
    runs: list[RunData]
    cells: list[Cell]
    pairs: list[tuple[Cell, Cell]]
    metrics: list[str]
    result: CompareResult | None = None


# -- loading -----------------------------------------------------------------------------------
def _trial_labels(manifest: Manifest) -> dict[str, str]:
    params = {slug: msgspec.to_builtins(state.params) if state.params else {}
              for slug, state in manifest.trials.items()}
    if len(params) < 2:
        return {slug: "" for slug in params}
    varying = [k for k in _VARYING
               if len({str(p.get(k)) for p in params.values()}) > 1]
    return {slug: ", ".join(_param(k, p.get(k)) for k in varying) for slug, p in params.items()}


def _param(key: str, value: Any) -> str:
    if key == "temperature":
        return f"T={value:g}" if isinstance(value, (int, float)) else f"T={value}"
    if key == "max_tokens" and isinstance(value, dict):
        return f"max_tokens={value.get('open')}/{value.get('closed')}"
    return f"{key}={value}"


def load_run(rd: RunDir, source: str) -> RunData:
    manifest = load_manifest(rd)
    try:
        items = {item.key: item for item in read_items(rd.items)}
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RunError(f"{rd.items}: cannot be read ({exc})") from None
    labels = _trial_labels(manifest)
    trials = []
    for slug in manifest.plan.trials or list(manifest.trials):
        path = rd.per_item_scores(slug)
        if not path.is_file():
            raise RunError(f"run {rd.run_id} has no scores for trial {slug} ({path.name} "
                           f"missing) — finish it first with: evalcli resume {rd.run_id}")
        trials.append(TrialData(slug, labels.get(slug, ""), read_per_item(path)))
    return RunData(rd.run_id, source, manifest, items, trials)


def load_runs(refs: list[str], runs_dir: Path, scratch: Path) -> list[RunData]:
    runs = []
    for n, ref in enumerate(refs):
        rd, source = locate_run(ref, runs_dir, scratch, n)
        runs.append(load_run(rd, source))
    seen: dict[str, int] = {}
    for run in runs:  # the same run twice (a folder and its archive): keep labels apart
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label}#{seen[run.label]}"
    return runs


# -- items -------------------------------------------------------------------------------------
def _same(a: Item, b: Item) -> bool:
    return (a.type, a.question, a.passage, sorted(a.answers), a.answerable) == \
        (b.type, b.question, b.passage, sorted(b.answers), b.answerable)


def item_overlap(a: RunData, b: RunData) -> dict[str, Any]:
    both = set(a.items) & set(b.items)
    shared = sorted(k for k in both if _same(a.items[k], b.items[k]))
    return {"shared": shared, "changed": sorted(both - set(shared)),
            "only_first": len(set(a.items) - both), "only_second": len(set(b.items) - both)}


# -- cells and pairs ---------------------------------------------------------------------------
def cells_of(runs: list[RunData]) -> list[Cell]:
    out = []
    for r, run in enumerate(runs):
        for t, trial in enumerate(run.trials):
            where = f" [{trial.label}]" if trial.label else ""
            for condition in run.conditions:
                out.append(Cell(r, t, condition, f"{run.label}{where}:{condition}"))
    return out


def parse_cell(spec: str, runs: list[RunData], cells: list[Cell]) -> Cell:
    run_part, sep, condition = spec.rpartition(":")
    trial_part = ""
    if "/" in run_part:
        run_part, trial_part = run_part.split("/", 1)
    labels = [run.label for run in runs]
    if not sep or not run_part:
        raise ConfigError(f"--pair: {spec!r} is not a cell — write RUN[/TRIAL]:CONDITION, "
                          "e.g. 1:control or 2/1:treatment")
    if run_part.isdigit() and 1 <= int(run_part) <= len(runs):
        r = int(run_part) - 1
    elif run_part in labels:
        r = labels.index(run_part)
    else:
        raise ConfigError(f"--pair: {spec!r} — no run {run_part!r}; use 1..{len(runs)} or one "
                          f"of: {', '.join(labels)}")
    slugs = [t.slug for t in runs[r].trials]
    if not trial_part:
        if len(slugs) > 1:
            raise ConfigError(f"--pair: {spec!r} — run {labels[r]} has {len(slugs)} trials; "
                              f"name one as {run_part}/N:{condition} (N = 1..{len(slugs)})")
        t = 0
    elif trial_part.isdigit() and 1 <= int(trial_part) <= len(slugs):
        t = int(trial_part) - 1
    elif trial_part in slugs:
        t = slugs.index(trial_part)
    else:
        raise ConfigError(f"--pair: {spec!r} — run {labels[r]} has no trial {trial_part!r}; "
                          f"use 1..{len(slugs)} or a slug")
    for cell in cells:
        if (cell.run, cell.trial, cell.condition) == (r, t, condition):
            return cell
    raise ConfigError(f"--pair: {spec!r} — run {labels[r]} has no condition {condition!r}; it "
                      f"has: {', '.join(runs[r].conditions)}")


def default_pairs(runs: list[RunData], cells: list[Cell]) -> list[tuple[Cell, Cell]]:
    """Every later run against the first, condition by condition (the same name), trial by
    trial (by position; a lone first-run trial stands for every trial)."""
    index = {(c.run, c.trial, c.condition): c for c in cells}
    pairs = []
    for r in range(1, len(runs)):
        for t in range(len(runs[r].trials)):
            base_t = t if len(runs[0].trials) > 1 else 0
            for condition in runs[r].conditions:
                a, b = index.get((0, base_t, condition)), index.get((r, t, condition))
                if a is not None and b is not None:
                    pairs.append((a, b))
    return pairs


# -- statistics --------------------------------------------------------------------------------
def _rows(run: RunData, cell: Cell, keys: set[str], name: str) -> list[ItemRow]:
    return [msgspec.structs.replace(row, condition=name, temp=0.0)
            for row in run.trials[cell.trial].rows
            if row.condition == cell.condition and row.item_key in keys]


def _stats(runs: list[RunData]) -> StatsConfig:
    try:
        return msgspec.convert(runs[0].manifest.config, Profile).stats
    except msgspec.ValidationError:
        return StatsConfig()


def _matrix(c: Comparison, keys: set[str], confidence: float) -> list[MatrixEntry]:
    out = []
    for cell in c.cells:
        run = c.runs[cell.run]
        rows = [r for r in run.trials[cell.trial].rows
                if r.condition == cell.condition and r.item_key in keys]
        for typ in sorted({r.type for r in rows}):
            typed = [r for r in rows if r.type == typ]
            metrics = {}
            for metric in c.metrics:
                values = np.array([v for r in typed if (v := r.metric(metric)) is not None])
                if values.size:
                    mean, lo, hi = (_finite_or_none(x) for x in mean_interval(values, confidence))
                    metrics[metric] = CellMean(mean=mean, ci_low=lo, ci_high=hi,
                                               n=int(values.size),
                                               method=mean_interval_method(values))
            out.append(MatrixEntry(cell=cell.label, run=run.label,
                                   trial=run.trials[cell.trial].slug,
                                   trial_label=run.trials[cell.trial].label,
                                   condition=cell.condition, type=typ,
                                   n_items=sum(1 for r in typed if r.em is not None),
                                   metrics=metrics))
    return out


def compare_runs(runs: list[RunData], pair_specs: list[str], metrics: list[str]) -> Comparison:
    """The whole comparison, typed, in `.result`; DataError when runs share no items."""
    cells = cells_of(runs)
    given = [tuple(parse_cell(s, runs, cells) for s in spec.split(",", 1))
             for spec in pair_specs]
    if any(len(p) != 2 for p in given):
        raise ConfigError("--pair: give two cells separated by a comma, e.g. 1:control,2:control")
    pairs = [(p[0], p[1]) for p in given] if pair_specs else default_pairs(runs, cells)
    if not pairs:
        raise DataError("the runs share no condition name — pair cells yourself with "
                        "--pair RUN:CONDITION,RUN:CONDITION")
    c = Comparison(runs, cells, pairs, metrics)
    overlaps = {}
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            ov = overlaps[(i, j)] = item_overlap(runs[i], runs[j])
            if not ov["shared"]:
                raise DataError(
                    f"runs {runs[i].label} and {runs[j].label} share no items (dataset + item id "
                    f"with the same question; {len(ov['changed'])} changed) — compare runs made "
                    "on the same questions")
    common = set(runs[0].items)
    for ov in overlaps.values():
        common &= set(ov["shared"])
    stats = _stats(runs)
    comparisons: list[PairComparison] = []
    for p, (a, b) in enumerate(pairs):
        i, j = sorted((a.run, b.run))
        keys = set(overlaps[(i, j)]["shared"]) if i != j else set(runs[i].items)
        rows = _rows(runs[a.run], a, keys, "A") + _rows(runs[b.run], b, keys, "B")
        if not any(r.condition == "A" for r in rows):
            continue
        sig = build_significance(rows, control="A", seed=stats.seed, n_boot=stats.bootstrap_samples,
                                 n_perm=stats.permutation_samples,
                                 tost_margins=dict(stats.tost_margins),
                                 confidence=stats.confidence)
        for comp in sig.comparisons:
            fields = msgspec.structs.asdict(comp)
            fields.update(pair=p, control=a.label, treatment=b.label,
                          metrics={m: v for m, v in comp.metrics.items() if m in metrics})
            comparisons.append(PairComparison(**fields))
    family = [m for comp in comparisons if comp.dataset == "all" for m in comp.metrics.values()]
    for m, q in zip(family, benjamini_hochberg([m.p_value for m in family]), strict=True):
        m.q_value, m.in_family = q, q is not None
    for comp in comparisons:
        if comp.dataset != "all":
            for m in comp.metrics.values():
                m.q_value, m.in_family = None, False
    c.result = CompareResult(
        runs=[_run_facts(run) for run in runs],
        items=[Overlap(first=runs[i].label, second=runs[j].label,
                       shared=len(ov["shared"]), changed=len(ov["changed"]),
                       changed_items=ov["changed"][:50], only_first=ov["only_first"],
                       only_second=ov["only_second"]) for (i, j), ov in overlaps.items()],
        common_items=len(common),
        metrics=metrics,
        matrix=_matrix(c, common, stats.confidence),
        pairs=[CellPair(a=a.label, b=b.label) for a, b in pairs],
        comparisons=comparisons,
        settings=CompareSettings(
            confidence=stats.confidence, seed=stats.seed, n_boot=stats.bootstrap_samples,
            n_perm=stats.permutation_samples, tost_margins=dict(stats.tost_margins),
            fdr_method="benjamini_hochberg",
            family="primary p of every (pair, type, metric) on dataset 'all'",
            family_size=sum(1 for m in family if m.in_family), stats_from=runs[0].label),
    )
    return c


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _run_facts(run: RunData) -> RunFacts:
    m = run.manifest
    engine = m.environment.engine
    options = m.environment.engine_options
    return RunFacts(label=run.label, source=run.source, run_id=m.run_id, status=m.status,
                    profile=m.profile, engine=m.plan.engine,
                    model=engine.get("model") or options.get("model") or "",
                    prompt_sets=m.plan.prompt_sets, items=len(run.items),
                    trials=[TrialRef(slug=t.slug, label=t.label) for t in run.trials],
                    conditions=run.conditions)


def metric_list(names: list[str]) -> list[str]:
    if not names:
        return list(VERDICT_METRICS)
    out = []
    for name in names:
        key = metric_key(name)
        if key is None:
            raise ConfigError(f"--metric {name!r} is not a metric — use EM, F1, abstain or "
                              "false_answers")
        if key not in out:
            out.append(key)
    return out


def compare(refs: list[str], *, runs_dir: Path, pair_specs: list[str],
            metric_names: list[str]) -> Comparison:
    """Load the runs (archives are unpacked to a temporary folder) and compare them."""
    if len(refs) < 2:
        raise ConfigError("compare needs at least two runs (run ids, run folders or archives)")
    metrics = metric_list(metric_names)
    with tempfile.TemporaryDirectory(prefix="evalcli-compare-") as scratch:
        runs = load_runs(refs, runs_dir, Path(scratch))
    return compare_runs(runs, pair_specs, metrics)
