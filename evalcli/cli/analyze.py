"""`evalcli analyze PREDICTIONS.csv --items ITEMS.jsonl --out DIR`: scores, statistics, costs
and the report for predictions made elsewhere (also the predecessor's predictions.csv)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import AbstainPhrases, console


def analyze(
    predictions: Annotated[Path, typer.Argument(metavar="PREDICTIONS.csv", help="predictions.csv: ours, or the predecessor's 13-column file.")],
    items: Annotated[list[Path], typer.Option("--items", help="Items the predictions answer: an evalcli items.jsonl, or the predecessor's open_book.jsonl and closed_book.jsonl (repeat --items for each file).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for per_item_scores.csv, significance.json, costs.json, report.md, report.html.")],
    control: Annotated[str | None, typer.Option("--control", help="The control condition (default: \"control\").")] = None,
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Take scoring, stats and pricing settings from this profile (bundled name or .toml path).")] = None,
    prompts: Annotated[str | None, typer.Option("--prompts", help="The prompt set the predictions were made with (bundled name or .toml path): its abstention phrase, and its system prompts and instructions to recognise answers that echo them. Default: the profile's, else none.")] = None,
    abstain_phrase: AbstainPhrases = None,
) -> None:
    """Score predictions made elsewhere, compare the conditions, and write the report."""
    from evalcli.analysis.analyze import analyze as run_analysis
    from evalcli.inputs.prompts import load_prompt_set

    scoring = stats = pricing = prompt_set = None
    labels: list[str] = []
    if profile is not None:
        from evalcli.inputs.config import load_profile

        loaded = load_profile(profile)
        scoring, stats = loaded.profile.scoring, loaded.profile.stats
        pricing = getattr(loaded.profile, "pricing", None)
        if prompts is None:
            names = loaded.profile.prompts.names
            if len(names) > 1:
                from evalcli.errors import ConfigError

                raise ConfigError(
                    f"{loaded.source}: prompts.set is a sweep of {len(names)} prompt sets "
                    f"({', '.join(names)}) — pass --prompts NAME: the one these predictions "
                    "were made with")
            prompt_set = load_prompt_set(names[0], loaded.base_dir)
        labels.append(f"profile {loaded.name} ({loaded.source}): scoring, stats, pricing")
    if prompts is not None:
        prompt_set = load_prompt_set(prompts, Path.cwd())
    if prompt_set is not None:
        labels.append(f"prompt set {prompt_set.name}: abstention phrase, echo check")
    if abstain_phrase:
        import msgspec

        from evalcli.inputs.config import ScoringConfig

        scoring = scoring or ScoringConfig()
        scoring = msgspec.structs.replace(scoring, abstain_phrases=[
            *scoring.abstain_phrases, *(p for p in abstain_phrase if p.strip())])
        labels.append(f"{len(abstain_phrase)} extra abstention phrase(s)")
    paths = run_analysis(predictions, items, out, control=control, scoring=scoring, stats=stats,
                         pricing=pricing, prompts=prompt_set.prompts if prompt_set else None,
                         label="; ".join(labels))
    out_console = console()
    for path in paths.values():
        out_console.print(f"wrote {path}", markup=False)
