"""report.md: verdict wording, section order, discordant items, tokens and cost, failures.

`report_inputs()` builds a small real experiment (items → predictions → score_rows →
build_significance → summarize_costs) that the HTML tests reuse.
"""

from __future__ import annotations

from types import SimpleNamespace

import msgspec
import pytest

from evalcli.inputs.config import PricingConfig
from evalcli.inputs.items import Item
from evalcli.report.discordant import discordant
from evalcli.report.markdown import build_report, render_report
from evalcli.science.costs import summarize_costs
from evalcli.science.per_item import score_rows
from evalcli.science.stats.significance import build_significance
from evalcli.store.predictions import PredictionRow

SCORING = SimpleNamespace(abstain_phrases=[], unsupported_strategy="baseline",
                          overlap_threshold=0.5)
SLUG = "mock-default-t00"


def make_items() -> list[Item]:
    items = []
    for ds in ("alpha", "beta"):
        for i in range(12):
            unanswerable = i % 4 == 3
            items.append(Item(dataset=ds, item_id=f"o{i}", type="open",
                              question=f"Open question {i} of {ds}?",
                              answers=[] if unanswerable else [f"answer {ds} {i}"],
                              passage=f"Passage {i // 3} of {ds} with answer {ds} {i}.",
                              answerable=not unanswerable, group=f"{ds}-p{i // 3}"))
    for i in range(12):
        items.append(Item(dataset="gamma", item_id=f"c{i}", type="closed",
                          question=f"Closed question {i}?", answers=[f"gold {i}", f"alias {i}"]))
    return items


def answer(item: Item, condition: str, n: int) -> str:
    """Treatment is right more often on open-book; control right more often on closed."""
    if not item.answerable:
        return "I don't know." if condition == "treatment" or n % 3 == 0 else "a guess | pipe"
    right = (n % 5 != 0) if (condition == "treatment") == (item.type == "open") else (n % 2 == 0)
    return item.answers[0] if right else f"wrong <b>{n}</b>"


def make_predictions(items: list[Item], *, failed: int = 0) -> list[PredictionRow]:
    rows = []
    for condition in ("control", "treatment"):
        for n, item in enumerate(items):
            text = answer(item, condition, n)
            ok = not (condition == "treatment" and n < failed)
            rows.append(PredictionRow(
                custom_id=f"{item.dataset}|{item.item_id}|{condition}|0.0|0|{item.type}",
                condition=condition, type=item.type, temp=0.0,
                response_text=text if ok else "", status="ok" if ok else "failed",
                error="" if ok else "engine error: boom", attempts=1 if ok else 3,
                prompt_tokens=(80 if condition == "control" else 200) + n,
                completion_tokens=4, latency_ms=12.5 + n))
    return rows


def report_inputs(*, failed: int = 0, pricing: PricingConfig | None = None) -> dict:
    items = make_items()
    predictions = make_predictions(items, failed=failed)
    scored = score_rows(predictions, {i.key: i for i in items}, SCORING)
    sig = build_significance(scored, control="control", seed=3, n_boot=300, n_perm=300)
    return dict(run_id="r-test", facts={"model": "mock", "items": str(len(items))},
                trials={SLUG: scored}, significance={SLUG: sig}, control="control",
                treatments=["treatment"],
                predictions={SLUG: predictions}, items={i.key: i for i in items},
                costs={SLUG: summarize_costs(predictions, pricing)})


@pytest.fixture(scope="module")
def inputs() -> dict:
    return report_inputs(pricing=PricingConfig(input_per_million=1.0, output_per_million=4.0))


def test_sections_in_reading_order(inputs):
    keys = [s.key for s in build_report(**inputs)]
    assert keys[0] == "verdict"
    assert keys.index("scores") < keys.index("discordant") < keys.index("tokens")
    assert "datasets" in keys  # open-book spans two datasets: subgroup table


def test_markdown_report(inputs):
    text = render_report(**inputs)
    assert text.startswith("# evalcli report — run `r-test`\n\n## Verdict\n")
    assert "In short, over" in text
    for heading in ("## Scores per condition", "## Paired differences",
                    "## Paired differences per dataset", "## Selective risk",
                    "## Discordant items", "## Tokens and cost per arm", "## Failed units"):
        assert heading in text
    # every table row has as many cells as its header
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if lines:
            widths = {ln.replace("\\|", "").count("|") for ln in lines}
            assert len(widths) == 1, block


def test_discordant_items_match_mcnemar(inputs):
    rows = inputs["trials"][SLUG]
    sig = inputs["significance"][SLUG]
    for block in discordant(rows, "control"):
        comp = next(c for c in sig.overall()
                    if c.type == block["type"] and c.temp == block["temp"])
        assert len(block["treatment_right"]) == comp.mcnemar.b
        assert len(block["control_right"]) == comp.mcnemar.c
    text = render_report(**inputs)
    section = text.split("## Discordant items")[1].split("## Tokens")[0]
    assert "`control` right, `treatment` wrong" in section
    assert "`treatment` right, `control` wrong" in section
    # question, gold and both answers side by side; a pipe inside an answer is escaped
    assert "| `gamma\\|c3` | Closed question 3? | gold 3 / alias 3 | gold 3 | wrong \\<b>27\\</b> |" \
        in section.split("*`treatment` right, `control` wrong (")[0]
    line = next(ln for ln in section.splitlines() if ln.startswith("| `alpha\\|o7`"))
    assert "(unanswerable)" in line and "a guess \\| pipe" in line and "I don't know." in line


def test_tokens_and_cost_section(inputs):
    text = render_report(**inputs)
    section = text.split("## Tokens and cost per arm")[1].split("## Failed units")[0]
    assert "cost (USD)" in section and "Cost from the profile's [pricing]" in section
    assert "`treatment` uses" in section and "× the tokens per unit of `control`" in section
    no_prices = render_report(**{**inputs, "costs": None})  # derived from predictions
    assert "No prices in the profile ([pricing]): tokens only." in no_prices


def test_failures_are_listed_and_named_in_the_verdict():
    text = render_report(**report_inputs(failed=2))
    verdict_part = text.split("## Setup")[0]
    assert "**2 unit(s) failed**" in verdict_part
    assert "engine error: boom" in text.split("## Failed units")[1]


def test_pipeline_call_without_the_new_arguments_still_works(inputs):
    old = {k: inputs[k] for k in ("run_id", "facts", "trials", "significance", "control",
                                  "treatments")}
    text = render_report(**old)
    assert "## Verdict" in text and "Mean tokens per answered item." in text
    # no predictions or items: discordant items are listed by key, without text
    assert "| `alpha\\|o" in text.split("## Discordant items")[1]


def test_empty_significance():
    text = render_report(run_id="x", facts={}, trials={}, significance={}, control="control",
                         treatments=[])
    assert "No paired comparisons could be made" in text


def test_report_streams_predictions_from_the_file_and_counts_every_failure(tmp_path):
    """The pipeline hands the report a PredictionsFile (read, never held): the answers of
    the discordant items and every failure come from it; only the first 50 are listed."""
    from evalcli.store.predictions import PredictionsFile, write_predictions

    items = make_items()  # 36 items x 2 arms; 30 treatment units fail, + 30 written twice
    predictions = make_predictions(items, failed=30)
    extra = [msgspec.structs.replace(r, custom_id=r.custom_id.replace("|0|", "|1|"))
             for r in predictions if r.status == "failed"]
    path = tmp_path / "predictions.csv"
    write_predictions(path, [*predictions, *extra])
    listed = dict(report_inputs(failed=30), predictions={SLUG: PredictionsFile(path)})
    text = render_report(**listed)
    assert "**60 unit(s) failed**" in text.split("## Setup")[0]
    failed_part = text.split("## Failed units")[1]
    assert failed_part.count("engine error: boom") == 50
    assert "… and 10 more (see predictions.csv)." in failed_part
    # the same answers side by side as from the rows in memory
    in_memory = render_report(**report_inputs(failed=30))
    assert text.split("## Discordant items")[1].split("## Tokens")[0] == \
        in_memory.split("## Discordant items")[1].split("## Tokens")[0]
