"""compare.md / compare.html from a compare result: escaping and the run report's wording."""

from __future__ import annotations

import msgspec

from evalcli.report.compare import render_compare_html, render_compare_md
from evalcli.science.stats.schema import CompareResult

EVIL = '<script>alert("x")</script>&'


def _result() -> CompareResult:
    em = {"n": 40, "delta": 0.2, "ci_low": 0.05, "ci_high": 0.35, "p_value": 0.004,
          "q_value": 0.008, "control_mean": 0.5, "treatment_mean": 0.7,
          "tost": {"margin": 0.02, "alpha": 0.05, "equivalent": False, "p_value": 0.9},
          "power": {"mde": 0.12, "alpha": 0.05, "power": 0.8}}
    run = {"run_id": "r", "conditions": ["control"]}
    return msgspec.convert({
        "runs": [{"label": "a", "status": "completed", "profile": "p", "engine": "mock",
                  "model": EVIL, "prompt_sets": ["default"], "items": 40,
                  "trials": [{"slug": "s", "label": ""}], "source": "/x/a", **run},
                 {"label": "b", "status": "completed", "profile": "p", "engine": "mock",
                  "model": "m", "prompt_sets": ["terse"], "items": 40,
                  "trials": [{"slug": "t", "label": ""}], "source": "/x/b", **run}],
        "items": [{"first": "a", "second": "b", "shared": 40, "changed": 0, "only_first": 0,
                   "only_second": 0, "changed_items": []}],
        "common_items": 40, "metrics": ["em"],
        "matrix": [{"cell": f"a:{EVIL}", "run": "a", "trial": "s", "trial_label": "",
                    "condition": EVIL, "type": "open", "n_items": 40,
                    "metrics": {"em": {"mean": 0.5, "ci_low": 0.35, "ci_high": 0.65}}}],
        "pairs": [{"a": f"a:{EVIL}", "b": f"b:{EVIL}"}],
        "comparisons": [{"dataset": "all", "type": "open", "control": f"a:{EVIL}",
                         "treatment": f"b:{EVIL}", "metrics": {"em": em},
                         "temp": 0.0, "n_items": 40, "n_clusters": 40,
                         "mcnemar": {"b": 2, "c": 10, "p_value": 0.04}}],
        "settings": {"family_size": 1, "stats_from": "a", "confidence": 0.95, "seed": 0,
                     "n_boot": 10, "n_perm": 10, "tost_margins": {}, "fdr_method": "bh",
                     "family": "all"},
    }, CompareResult)


def test_html_escapes_every_name_and_is_self_contained():
    page = render_compare_html(_result())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") == 1 and "src=" not in page and "href=" not in page


def test_markdown_uses_the_run_report_verdict_wording():
    md = render_compare_md(_result())
    assert "gets more answers exactly right than" in md
    assert "+20.0 points [95% CI 5.0, 35.0], p = 0.004 (q = 0.008) on 40 paired items" in md
    assert "b=2, c=10, p = 0.040" in md and "not shown equivalent" in md and "| 12.0 |" in md


def test_every_verdict_bullet_names_the_cells_it_compares():
    """The first bullets of compare.md used to read "**EM** (open-book): suggestive only —
    …" with no cells when the result was not clear-cut; each names both cells now."""
    from evalcli.report.text import code

    result = msgspec.to_builtins(_result())
    em = result["comparisons"][0]["metrics"]["em"]
    for change in ({}, {"p_value": 0.03, "q_value": 0.09}, {"ci_low": -0.01},
                   {"n": 1}, {"ci_low": -0.1, "p_value": 0.6, "q_value": 0.7}):
        result["comparisons"][0]["metrics"]["em"] = {**em, **change}
        md = render_compare_md(msgspec.convert(result, CompareResult))
        bullets = [line for line in md.split("## Verdict")[1].split("## Runs")[0].splitlines()
                   if line.startswith("- ")]
        assert bullets, md
        for line in bullets:
            assert code(f"b:{EVIL}") in line and code(f"a:{EVIL}") in line, (change, line)
