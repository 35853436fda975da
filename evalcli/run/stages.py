"""The stages after generate: parse → score → stats → costs → report, each a pure function
of the files before it, keyed on their content.

    results.jsonl ──parse──► predictions.csv ──score──► per_item_scores.csv ──stats──►
    significance.json ──┐            predictions.csv ──costs──► costs.json ─┤
                        └───────────────────────────────────────────report──► report.md/.html

`finish` runs the selected stages; a stage whose inputs (files and settings) hash as in its
last run and whose outputs are exactly as it wrote them (sha256 recorded in run.json) is
skipped, so running them again is always safe. A derived file is never trusted over its
source: an output that is missing or was changed (a spreadsheet re-save of predictions.csv)
makes its stage run again from its source — even a stage not selected — and events.jsonl
says so (`stage_redone`).
"""

from __future__ import annotations

# statistics (scipy) and the report renderers are imported inside their stages: a run that
# stops at generate, or has its later stages done already, never loads them
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from evalcli.errors import RunError, StopRequested
from evalcli.report.setup_facts import (
    items_line,
    prompt_sets_line,
    reuse_facts,
    sampling_line,
)
from evalcli.run.pipeline import Setup
from evalcli.run.plan import Trial
from evalcli.run.stage_names import LATER_STAGES
from evalcli.science.costs import read_costs, summarize_costs, write_costs
from evalcli.science.per_item import (
    COUNTS,
    METRICS,
    ItemTable,
    iter_scored,
    prompt_texts,
    write_per_item,
)
from evalcli.science.resources import IDLE, attribute_rows
from evalcli.science.review import AnswerReview, read_review, write_review
from evalcli.science.stats.schema import read_significance
from evalcli.store.events import AnyEvent, StageRedone
from evalcli.store.fsutil import atomic_write_text, sha256_file
from evalcli.store.manifest import Manifest, stopped_at_verdict, write_manifest
from evalcli.store.predictions import (
    PredictionsFile,
    iter_predictions,
    prediction_row,
    write_predictions,
)
from evalcli.store.results import LatestResults
from evalcli.store.rundir import EventLog, RunDir
from evalcli.store.telemetry import TELEMETRY_FILE, read_telemetry


def _per_trial(setup: Setup, manifest: Manifest, name: str,
               produce: Callable[[Trial], Path | list[Path]]) -> None:
    """Run `produce(trial) -> the path(s) written` for every trial, recording the stage."""
    manifest.start_stage(name)
    artifacts = []
    for trial in setup.plan.trials:
        written = produce(trial)
        artifacts += [setup.run_dir.relative(p)
                      for p in (written if isinstance(written, list) else [written])]
    manifest.finish_stage(name, artifacts)


def parse_stage(setup: Setup, manifest: Manifest) -> None:
    """predictions.csv of every trial from its results.jsonl alone: each record carries its
    token counts and their source (recorded when the unit finished: run/token_counts.py)."""
    rd = setup.run_dir
    # trial -> its results, indexed (each record is read when its row is written: memory
    # grows with the number of units, not with the answers)
    records: dict[str, LatestResults] = {}
    missing = "skipped" if stopped_at_verdict(manifest) else "pending"

    def rows_of(trial):
        for row in setup.plan.rows_of(trial.slug):
            if row.source_trial not in records:
                records[row.source_trial] = LatestResults(rd.results(row.source_trial))
            yield prediction_row(row.custom_id, records[row.source_trial].get(row.source_id),
                                 missing)

    def produce(trial) -> Path:
        write_predictions(rd.predictions(trial.slug), rows_of(trial))
        return rd.predictions(trial.slug)

    try:
        _per_trial(setup, manifest, "parse", produce)
    finally:
        for results in records.values():
            results.close()


def score_stage(setup: Setup, manifest: Manifest) -> None:
    rd, items = setup.run_dir, setup.items.keyed()

    def produce(trial) -> list[Path]:
        prompts = setup.plan.prompts_for(trial.slug)
        review = AnswerReview()
        scored = iter_scored(iter_predictions(rd.predictions(trial.slug)), items,
                            setup.profile.scoring, extra_phrases=[prompts.abstain_phrase],
                            echo_texts=prompt_texts(prompts), grouped=True, review=review)
        write_per_item(rd.per_item_scores(trial.slug), scored)
        write_review(rd.review(trial.slug), review.result())
        return [rd.per_item_scores(trial.slug), rd.review(trial.slug)]

    _per_trial(setup, manifest, "score", produce)


def stats_stage(setup: Setup, manifest: Manifest) -> None:
    rd = setup.run_dir

    def produce(trial) -> Path:
        from evalcli.science.stats.schema import TrialInfo, write_significance
        from evalcli.science.stats.significance import significance_for

        sig = significance_for(ItemTable.read(rd.per_item_scores(trial.slug), METRICS),
                               control=setup.control, stats=setup.profile.stats)
        if trial.label:  # a sweep: say which model / prompt set / settings each comparison is
            for comp in sig.comparisons:
                comp.prompt_set = trial.label
        if len(setup.plan.trials) > 1:  # a sweep: the report's per-trial matrix reads it
            sig.trial = TrialInfo(slug=trial.slug, label=trial.label,
                                  params=msgspec.to_builtins(trial.params))
        write_significance(rd.significance(trial.slug), sig)
        return rd.significance(trial.slug)

    _per_trial(setup, manifest, "stats", produce)


def costs_stage(setup: Setup, manifest: Manifest) -> None:
    rd = setup.run_dir
    # each trial's predictions are streamed: once here for GPU attribution (only when there
    # is telemetry), once per trial for its sums
    unit_resources = attribute_rows(read_telemetry(rd.root / TELEMETRY_FILE),
                                    (r for t in setup.plan.trials
                                     for r in iter_predictions(rd.predictions(t.slug))))
    idle = unit_resources.pop(IDLE, None)

    def produce(trial) -> Path:
        costs = summarize_costs(iter_predictions(rd.predictions(trial.slug)),
                                setup.profile.pricing,
                                unit_resources=unit_resources, idle=idle,
                                significance=read_significance(rd.significance(trial.slug)))
        write_costs(rd.costs(trial.slug), costs)
        return rd.costs(trial.slug)

    _per_trial(setup, manifest, "costs", produce)


# the per-item numbers the report reads: outcomes (counts, abstain_rate), discordant items
# (em), mean tokens (when there are no costs)
_REPORT_NUMBERS = ("em", "abstain_rate", "prompt_tokens", "completion_tokens", *COUNTS)


def report_stage(setup: Setup, manifest: Manifest) -> Path:
    manifest.start_stage("report")
    rd = setup.run_dir
    trials, significance, predictions, costs, reviews = {}, {}, {}, {}, {}
    for trial in setup.plan.trials:
        slug = trial.slug
        trials[slug] = ItemTable.read(rd.per_item_scores(slug), _REPORT_NUMBERS)
        reviews[slug] = read_review(rd.review(slug))
        significance[slug] = read_significance(rd.significance(slug))
        predictions[slug] = PredictionsFile(rd.predictions(slug))  # streamed, never held
        costs[slug] = read_costs(rd.costs(slug))
    engine_info = manifest.environment.engine
    facts = {
        "profile": f"{manifest.profile} ({manifest.profile_source})",
        "engine": f"{setup.engine.name}, {setup.engine.workers} worker(s)",
        "model": ", ".join(e.model_label for e in setup.variants) if setup.variants else
                 engine_info.get("model") or getattr(setup.engine.options, "model", "") or "—",
        "prompt sets": prompt_sets_line([(p.name, p.prompts.conditions)
                                         for p in setup.prompt_sets], setup.control),
        "items": items_line([i.type for i in setup.items], [i.answerable for i in setup.items]),
        "sampling": sampling_line([t.params for t in setup.plan.trials]),
    }
    facts.update(reuse_facts(manifest, len(setup.plan.units)))
    args = dict(run_id=rd.run_id, facts=facts, trials=trials, significance=significance,
                control=setup.control, treatments=setup.treatments, predictions=predictions,
                items=setup.items.keyed(), costs=costs, reviews=reviews,
                sequential=manifest.stopping or None)
    from evalcli.report.html import render_report_html
    from evalcli.report.markdown import render_report

    atomic_write_text(rd.report_md, render_report(**args))
    atomic_write_text(rd.report_html, render_report_html(
        **args, telemetry=read_telemetry(rd.root / TELEMETRY_FILE)))
    manifest.finish_stage("report", [rd.relative(rd.report_md), rd.relative(rd.report_html)])
    return rd.report_md


def _telemetry(rd: RunDir) -> list[Path]:
    path = rd.root / TELEMETRY_FILE
    return [path] if path.exists() else []


def _parse_inputs(setup: Setup) -> tuple[list[Path], dict]:
    return [setup.run_dir.results(t.slug) for t in setup.plan.trials], {}


def _score_inputs(setup: Setup) -> tuple[list[Path], dict]:
    rd = setup.run_dir
    return [rd.items] + [rd.predictions(t.slug) for t in setup.plan.trials], \
        msgspec.to_builtins(setup.profile.scoring)


def _stats_inputs(setup: Setup) -> tuple[list[Path], dict]:
    return [setup.run_dir.per_item_scores(t.slug) for t in setup.plan.trials], \
        {"stats": msgspec.to_builtins(setup.profile.stats), "control": setup.control,
         "trial_labels": [t.label for t in setup.plan.trials]}


def _costs_inputs(setup: Setup) -> tuple[list[Path], dict]:
    rd, slugs = setup.run_dir, [t.slug for t in setup.plan.trials]
    return [rd.predictions(s) for s in slugs] + [rd.significance(s) for s in slugs] \
        + _telemetry(rd), msgspec.to_builtins(setup.profile.pricing)


def _report_inputs(setup: Setup) -> tuple[list[Path], dict]:
    rd, slugs = setup.run_dir, [t.slug for t in setup.plan.trials]
    return ([rd.per_item_scores(s) for s in slugs] + [rd.significance(s) for s in slugs]
            + [rd.predictions(s) for s in slugs] + [rd.costs(s) for s in slugs] + [rd.items]
            + [rd.review(s) for s in slugs if rd.review(s).exists()]  # none before it existed
            + _telemetry(rd)), {}


def _inputs_hash(paths: list[Path], extra: dict, root: Path) -> str:
    digest = hashlib.sha256(msgspec.json.encode(extra, order="sorted"))
    for path in paths:  # which files (trial slugs) and what they hold
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class StageSpec:
    """One stage after generate: what it reads (in words, for the "redone from" note), the
    files and settings its inputs hash covers, and the function that writes its outputs."""

    name: str
    reads: str
    inputs: Callable[[Setup], tuple[list[Path], dict]]
    produce: Callable[[Setup, Manifest], object]


# the one table of the later stages, in order (run/stage_names.py holds their names for the
# commands, which must not import this module; tests/unit/test_stage_table.py checks both)
STAGE_TABLE = (
    StageSpec("parse", "results.jsonl", _parse_inputs, parse_stage),
    StageSpec("score", "predictions.csv and items.jsonl", _score_inputs, score_stage),
    StageSpec("stats", "per_item_scores.csv", _stats_inputs, stats_stage),
    StageSpec("costs", "predictions.csv", _costs_inputs, costs_stage),
    StageSpec("report", "the trial files", _report_inputs, report_stage),
)


def _untrusted_outputs(root: Path, state) -> list[str]:
    """The artifacts of a done stage that are missing, changed, or were never hashed
    (a run directory from before outputs were recorded): each "path (why)"."""
    out = []
    for artifact in state.artifacts:
        path, recorded = root / artifact, state.outputs.get(artifact)
        if not path.is_file():
            out.append(f"{artifact} (missing)")
        elif recorded is None:
            out.append(f"{artifact} (not verified)")
        elif sha256_file(path) != recorded:
            out.append(f"{artifact} (changed)")
    return out


def finish(setup: Setup, manifest: Manifest, stages: tuple[str, ...] = LATER_STAGES,
           note: Callable[[str], None] = lambda line: None) -> tuple[str, ...]:
    """The stages after generate. Each is keyed on the content of its inputs and of its
    outputs: a stage whose inputs hash matches its last run and whose outputs are as it
    wrote them is skipped; a done stage whose outputs changed is redone, selected or not.
    Returns the names of the stages that ran."""
    rd = setup.run_dir
    produced: list[str] = []
    for spec in STAGE_TABLE:
        name = spec.name
        state = manifest.stage(name)
        untrusted = _untrusted_outputs(rd.root, state) if state.status == "done" else []
        if name not in stages and not untrusted:
            continue
        paths, extra = spec.inputs(setup)
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise RunError(f"stage {name} needs {rd.relative(missing[0])}, which does not exist "
                           f"— run the earlier stages first (evalcli resume {rd.run_id})")
        digest = _inputs_hash(paths, extra, rd.root)
        if state.status == "done" and state.inputs_hash == digest and state.artifacts \
                and not untrusted:
            continue
        if rd.stop_requested():  # `evalcli stop` after generate: stop here, resumable
            raise StopRequested(f"run {rd.run_id} stopped before the {name} stage (evalcli "
                                f"stop); resume with: evalcli resume {rd.run_id}")
        if untrusted:
            _log_event(rd, StageRedone(stage=name, outputs=untrusted, source=spec.reads))
            note(f"note: {name} stage redone from {spec.reads}: "
                 f"{', '.join(untrusted)} since it last ran")
        spec.produce(setup, manifest)
        produced.append(name)
        state = manifest.stage(name)
        state.inputs_hash = digest
        state.outputs = {a: sha256_file(rd.root / a) for a in state.artifacts}
        write_manifest(rd.manifest, manifest)
    if all(manifest.stage(n).status == "done" for n in ("generate", *LATER_STAGES)):
        manifest.status = "completed"
    elif manifest.status == "running":  # e.g. --to generate: resumable, and nothing runs now
        manifest.status = "stopped"
    write_manifest(rd.manifest, manifest)
    return tuple(produced)


def _log_event(rd: RunDir, event: AnyEvent) -> None:
    events = EventLog(rd.events)
    try:
        events.emit(event)
    finally:
        events.close()
