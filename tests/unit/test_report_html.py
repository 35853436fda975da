"""report.html: self-contained, escaped, verdict first, valid inline SVG plots."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from evalcli.report.html import _ticks, dot_whisker, forest_plot, render_report_html
from tests.unit.test_report import SLUG, report_inputs

SVG_NS = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def page() -> str:
    return render_report_html(**report_inputs(failed=1))


def test_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page and " src=" not in page
    assert "@import" not in page and "url(" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {SVG_NS}


def test_same_content_as_markdown_verdict_first(page):
    order = [page.index(f'<section id="{key}">') for key in
             ("verdict", "setup", "scores", "differences", "datasets", "selective", "plots",
              "discordant", "tokens", "failures")]
    assert order == sorted(order)
    assert 'class="verdict"' in page and "In short, over" in page
    assert "cost (USD)" not in page  # no prices given: tokens only
    assert "engine error: boom" in page


def test_text_is_escaped(page):
    # answers carry "<b>" and "|": shown as text, never as markup
    assert "wrong &lt;b&gt;" in page and "wrong <b>" not in page
    assert "a guess | pipe" in page


def test_svgs_are_well_formed_with_plots(page):
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) >= 4  # forest, arms, one risk–coverage per (type, temp)
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == f"{{{SVG_NS}}}svg"
    forest = svgs[0]
    # dataset subgroups of the open-book comparison appear as their own rows
    assert "alpha (n=" in forest and "beta (n=" in forest and "all datasets (n=" in forest
    assert "polyline" in "".join(svgs[2:])  # the risk–coverage curves


def test_forest_plot_empty_and_ticks():
    assert forest_plot({}) == ""
    assert _ticks(-12.0, 31.0) == [-10.0, 0.0, 10.0, 20.0, 30.0]
    svg = dot_whisker([{"header": "h"}, {"label": "a", "est": None, "lo": None, "hi": None}],
                      lo=0, hi=0, zero=0.0, axis_label="x")
    ET.fromstring(svg)


def test_render_with_only_pipeline_arguments():
    inputs = report_inputs()
    old = {k: inputs[k] for k in ("run_id", "facts", "trials", "significance", "control",
                                  "treatments")}
    page = render_report_html(**old)
    assert '<section id="plots">' in page and SLUG in page
