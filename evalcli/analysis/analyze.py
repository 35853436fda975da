"""`evalcli analyze`: score, statistics, costs and report for predictions made elsewhere.

    PREDICTIONS.csv (ours, or the predecessor's 13 columns) ──read_predictions──┐
    ITEMS.jsonl (Item lines, or the predecessor's open_book / closed_book lines) ┤
        ──score_rows──► per_item_scores.csv ──build_significance──► significance.json
        ──summarize_costs──► costs.json ──render_report / render_report_html──► report.md/.html

The same functions as a run's later stages, so an analysis and a run of the same answers
give the same files. Nothing here imports `ipc` or an engine: it works without any engine
installed. Bad input is a DataError / ConfigError naming the file, line and fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from evalcli.errors import ConfigError, DataError
from evalcli.inputs.config import PricingConfig, ScoringConfig, StatsConfig
from evalcli.inputs.items import Item
from evalcli.science.costs import summarize_costs, write_costs
from evalcli.store.fsutil import atomic_write_text
from evalcli.store.predictions import PredictionRow, read_predictions

if TYPE_CHECKING:
    from evalcli.inputs.prompts import PromptSet

ITEMS_HINT = ("each line is an evalcli item (dataset, item_id, type, question, answers, ...) "
              "or a predecessor prepared item (dataset, id, question, answers[, context, "
              "is_unanswerable])")
OUTPUTS = ("per_item_scores.csv", "review.json", "significance.json", "costs.json", "report.md",
           "report.html")


def _item_from_line(obj: dict[str, Any], where: str) -> Item:
    if "item_id" in obj and "type" in obj:
        try:
            return msgspec.convert(obj, Item)
        except msgspec.ValidationError as exc:
            raise DataError(f"{where}: not a valid evalcli item ({exc}) — {ITEMS_HINT}") from None
    if "id" in obj and "question" in obj and "dataset" in obj:
        return _predecessor_item(obj, where)
    raise DataError(f"{where}: unknown item format (keys: {', '.join(sorted(obj)) or 'none'}) "
                    f"— {ITEMS_HINT}")


def _predecessor_item(obj: dict[str, Any], where: str) -> Item:
    """open_book.jsonl {dataset, id, context, question, answers[], is_unanswerable} or
    closed_book.jsonl {dataset, id, question, answers[]}."""
    from evalcli.inputs.datasets.records import question_id

    answers = obj.get("answers") or []
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DataError(f'{where}: field "answers" must be a list of texts — {ITEMS_HINT}')
    dataset, item_id, question = str(obj["dataset"]), str(obj["id"]), str(obj["question"])
    if "context" in obj or "is_unanswerable" in obj:
        context = str(obj.get("context") or "")
        unanswerable = bool(obj.get("is_unanswerable")) or not answers
        return Item(dataset=dataset, item_id=item_id, type="open", question=question,
                    answers=[] if unanswerable else answers, passage=context,
                    answerable=not unanswerable,
                    group="passage:" + question_id(context)[:12] if context.strip() else "")
    if not answers:
        raise DataError(f'{where}: closed-book item {item_id!r} has no "answers" — {ITEMS_HINT}')
    return Item(dataset=dataset, item_id=item_id, type="closed", question=question,
                answers=answers)


def read_items_any(paths: Path | list[Path]) -> dict[str, Item]:
    """Items by key (dataset|item_id) from our items.jsonl or the predecessor's prepared
    files (open_book.jsonl and closed_book.jsonl: pass both); the format is detected per
    line, so one file may mix both."""
    from evalcli.inputs.datasets.files import iter_jsonl

    items: dict[str, Item] = {}
    where: dict[str, str] = {}
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    for path in paths:
        for number, obj in iter_jsonl(path, str(path), ITEMS_HINT):
            here = f"{path} line {number}"
            item = _item_from_line(obj, here)
            if item.key in items:
                raise DataError(f"{here}: item {item.key} was already given at "
                                f"{where[item.key]} — each dataset|id must be unique")
            items[item.key], where[item.key] = item, here
    if not items:
        raise DataError(f"{', '.join(map(str, paths))}: no items — {ITEMS_HINT}")
    return items


def _check_predictions(path: Path, rows: list[PredictionRow]) -> list[str]:
    """Conditions in order of appearance. DataError on a custom_id that does not parse, one
    that appears twice (naming both lines), or a condition cell that disagrees with it."""
    from evalcli.store.customid import parse_custom_id

    if not rows:
        raise DataError(f"{path}: no prediction rows — nothing to analyze")
    conditions: dict[str, None] = {}
    seen: dict[str, int] = {}
    for row in rows:
        number, custom_id = row.line, row.custom_id
        try:
            cid = parse_custom_id(custom_id)
        except ValueError as exc:
            raise DataError(f"{path} line {number}: {exc} — expected "
                            "dataset|item_id|condition|temp|sample_index|type") from None
        if custom_id in seen:
            raise DataError(f"{path} lines {seen[custom_id]} and {number}: custom_id "
                            f"{custom_id!r} appears twice — keep one row per unit (a second "
                            "sample needs its own sample_index)")
        seen[custom_id] = number
        if row.condition != cid.condition:
            raise DataError(f"{path} line {number}: condition {row.condition!r} "
                            f"disagrees with custom_id {custom_id!r} — fix one of them")
        conditions[cid.condition] = None
    return list(conditions)


def choose_control(conditions: list[str], control: str | None, path: Path) -> str:
    if len(conditions) < 2:
        raise DataError(f"{path}: only condition {', '.join(conditions)!r} — an A/B analysis "
                        "needs a control and at least one treatment")
    chosen = control or ("control" if "control" in conditions else None)
    if chosen is None:
        raise ConfigError(f"{path}: no condition named 'control' — pass --control NAME "
                          f"(conditions: {', '.join(conditions)})")
    if chosen not in conditions:
        raise ConfigError(f"--control {chosen}: not a condition in {path} — use one of: "
                          f"{', '.join(conditions)}")
    return chosen


def analyze(predictions_path: Path, items_path: Path | list[Path], out_dir: Path, *,
            control: str | None = None, scoring: ScoringConfig | None = None,
            stats: StatsConfig | None = None, pricing: PricingConfig | None = None,
            prompts: PromptSet | None = None,
            label: str = "") -> dict[str, Path]:
    """Write OUTPUTS into out_dir; `items_path` is one items file or several (the
    predecessor's open_book.jsonl and closed_book.jsonl); `scoring`/`stats` are the
    profile's ScoringConfig / StatsConfig (defaults when None); `prompts`: the PromptSet the
    predictions were made with, or None — its abstention phrase joins the refusal patterns
    and its texts are checked for echoes. Returns {file name: path}."""
    from evalcli.report.html import render_report_html
    from evalcli.report.markdown import render_report
    from evalcli.science.per_item import prompt_texts, score_rows, write_per_item
    from evalcli.science.review import AnswerReview, write_review
    from evalcli.science.stats.schema import write_significance
    from evalcli.science.stats.significance import significance_for

    scoring, stats = scoring or ScoringConfig(), stats or StatsConfig()
    predictions_path, out_dir = Path(predictions_path), Path(out_dir)
    items_paths = [Path(items_path)] if isinstance(items_path, (str, Path)) else list(items_path)
    if not predictions_path.is_file():
        raise DataError(f"{predictions_path}: predictions file not found")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir}: is a file, not a folder — give a folder for the "
                          "analysis files (it is created if missing)")
    rows = read_predictions(predictions_path)
    conditions = _check_predictions(predictions_path, rows)
    ctrl = choose_control(conditions, control, predictions_path)
    treatments = [c for c in conditions if c != ctrl]
    items = read_items_any(items_paths)
    review = AnswerReview()
    scored = score_rows(rows, items, scoring,
                        extra_phrases=[prompts.abstain_phrase] if prompts else [],
                        echo_texts=prompt_texts(prompts) if prompts else None, review=review)
    sig = significance_for(scored, control=ctrl, stats=stats)
    costs = summarize_costs(rows, pricing)
    paths = {name: out_dir / name for name in OUTPUTS}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out_dir}: cannot create the folder ({exc.strerror or exc}) "
                          "— give a folder you can write in") from None
    write_per_item(paths["per_item_scores.csv"], scored)
    write_review(paths["review.json"], review.result())
    write_significance(paths["significance.json"], sig)
    write_costs(paths["costs.json"], costs)
    slug = predictions_path.parent.name if predictions_path.name == "predictions.csv" \
        and predictions_path.parent.name else predictions_path.stem
    used = sorted({row.item_key for row in scored})
    kinds = [items[k].type for k in used]
    failed = [r for r in rows if r.status not in ("ok", "skipped")]
    facts = {
        "analysis of": f"{predictions_path} ({len(rows)} predictions, {len(failed)} failed)",
        "items": f"{', '.join(map(str, items_paths))} — {len(used)} answered "
                 f"({kinds.count('open')} open-book, {kinds.count('closed')} closed-book; "
                 f"{sum(1 for k in used if not items[k].answerable)} unanswerable)",
        "conditions": ", ".join(conditions) + f" (control: {ctrl})",
        "settings": label or "defaults (no --profile)",
    }
    report_args: dict[str, Any] = dict(
        run_id=slug, facts=facts, trials={slug: scored}, significance={slug: sig}, control=ctrl,
        treatments=treatments, predictions={slug: rows}, items=items, costs={slug: costs},
        reviews={slug: review.result()})
    atomic_write_text(paths["report.md"], render_report(**report_args))
    atomic_write_text(paths["report.html"], render_report_html(**report_args))
    return paths
