"""report.md is safe to render: hostile answers, questions, gold answers, dataset and
condition names, errors and facts come out as text under a CommonMark renderer (markdown-it-py,
with GFM tables) — no raw HTML, no link, no image — and report.html escapes them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from evalcli.inputs.items import Item
from evalcli.report.html import render_report_html
from evalcli.report.markdown import render_report
from evalcli.science.costs import summarize_costs
from evalcli.science.per_item import score_rows
from evalcli.science.stats.significance import build_significance
from evalcli.store.predictions import PredictionRow

markdown_it = pytest.importorskip("markdown_it")

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![remote](https://evil.example/pixel.png)",
    "<https://evil.example>",
    "www.evil.example and https://evil.example/x",
    "**bold** _em_ `code` | pipe",
    "&lt;b&gt; entity",
    "[ref]: https://evil.example",
    "<!-- comment -->",
]
SCORING = SimpleNamespace(abstain_phrases=[], unsupported_strategy="baseline",
                          overlap_threshold=0.5)


def hostile_inputs() -> dict:
    items, predictions = [], []
    for i in range(12):
        text = HOSTILE[i % len(HOSTILE)]
        item = Item(dataset="ds<b>", item_id=f"q{i}", type="closed", question=f"Q {text}",
                    answers=[f"gold {text}"])
        items.append(item)
        for cond in ("con`trol", "treat<i>"):
            right = (i % 2 == 0) == (cond == "treat<i>")
            predictions.append(PredictionRow(
                custom_id=f"{item.dataset}|{item.item_id}|{cond}|0.0|0|closed",
                condition=cond, type="closed", temp=0.0,
                response_text=item.answers[0] if right else f"wrong {text}",
                status="ok", prompt_tokens=10, completion_tokens=2, latency_ms=1.0))
    predictions.append(PredictionRow(custom_id="ds<b>|q0|treat<i>|0.0|1|closed",
                                     condition="treat<i>", type="closed", temp=0.0,
                                     status="failed", error=HOSTILE[1]))
    scored = score_rows(predictions, {i.key: i for i in items}, SCORING)
    sig = build_significance(scored, control="con`trol", n_boot=50, n_perm=50)
    slug = "trial[x](y)"
    return dict(run_id="run<script>", facts={"model": HOSTILE[3], "items": HOSTILE[2]},
                trials={slug: scored}, significance={slug: sig}, control="con`trol",
                treatments=["treat<i>"],
                predictions={slug: predictions}, items={i.key: i for i in items},
                costs={slug: summarize_costs(predictions)})


def _tokens(tokens):
    for tok in tokens:
        yield tok
        yield from _tokens(tok.children or [])


def test_report_md_renders_no_tag_link_or_image_from_data():
    text = render_report(**hostile_inputs())
    md = markdown_it.MarkdownIt("commonmark").enable("table")
    tokens = list(_tokens(md.parse(text)))
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_inline", "html_block", "link_open", "image"}, kinds
    rendered = md.render(text)
    for bad in ("<script", "<img", "<a ", "<i>", "<b>", "<!--", "javascript:alert(1)\""):
        assert bad not in rendered
    # the data is still there, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "[click](javascript:alert(1))" in rendered
    # the control's backtick does not break the verdict's code span
    assert "<code>con`trol</code>" in rendered
    # every table row keeps its column count (no pipe from data splits a cell)
    rows = [t for t in tokens if t.type == "tr_open"]
    assert rows


def test_no_bare_address_for_an_autolinker():
    text = render_report(**hostile_inputs())
    assert "www.evil" not in text and "https://evil" not in text


def test_report_html_escapes_the_same_data():
    page = render_report_html(**hostile_inputs())
    for bad in ("<script>", "<img src", "<i>", "<b>", "<!-- comment"):
        assert bad not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<code>con`trol</code>" in page


# esc() escapes only what a renderer would read as markup: the text comes back as written
TRICKY = ["mock (bundled:mock)", "top_p=1.0, stop=[], max_tokens=48/32 (open/closed)",
          "_em_ a_b __x__ *s* **b** `c` ~~del~~ ~x~", "[x](y) ![i](u) [r]: u [r][] [r]",
          "<b> <!-- c --> </x> <?p?> < a p<0.05 a>b", "&amp; &#65; &x & y AT&T", "# h", "#1",
          "- x", "-0.5", "---", "+ x", "12. x", "1) y", "1.0", "> q", "a | b", "x\\", "\\_ \\*",
          "C:\\Users\\me", "2026-12-07T03:53:02Z", "a:b c.d e-f", "www.x.com http://y.z",
          "{'open': 24}", "ünï_cödé_", "=== a", "_", "*", "\\"]


def _plain(md, doc: str) -> list[str]:
    """The text of each inline run of `doc`; fails on any markup (emphasis, code, link…)."""
    runs = []
    for tok in md.parse(doc):
        if tok.type == "inline":
            kinds = {c.type for c in tok.children or []}
            assert kinds <= {"text"}, (doc, kinds)
            runs.append("".join(c.content for c in tok.children or []))
    return runs


def _contexts(marked: str) -> list[tuple[str, int, str]]:
    """Where report code puts escaped data: (document, index of the data's inline run, the
    text before the data in that run)."""
    return [(marked, 0, ""), (f"- {marked}", 0, ""), (f"- k: {marked}", 0, "k: "),
            (f"| a | b |\n|---|---|\n| {marked} | x |", 2, ""),
            (f"| a | b |\n|---|---|\n| x | y {marked} |", 3, "y ")]


def _check_round_trip(text: str) -> None:
    from evalcli.report.text import _AUTOLINK, _ZWSP, _flat, esc

    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    want = _AUTOLINK.sub(lambda m: m.group(1) + _ZWSP, _flat(text))
    if not want:  # nothing to show (whitespace only): no inline run to compare
        return
    marked = esc(text)
    for doc, at, prefix in _contexts(marked):
        runs = _plain(md, doc)
        assert runs[at:at + 1] == [prefix + want], (text, marked, doc, runs)


@pytest.mark.parametrize("text", TRICKY)
def test_escaped_text_renders_as_written(text):
    _check_round_trip(text)


def test_escapes_only_what_markdown_would_misread():
    from evalcli.report.text import esc

    for text in ("mock (bundled:mock)", "top_p=1.0", "p < 0.05", "2026-12-07T03:53:02Z",
                 "a:b c.d e-f -0.5 1.0 C:\\Users"):
        assert esc(text) == text


def test_generated_strings_render_as_written():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("ab1 _*`[]()<>&#!|~\\-+.:;=/?\"'{}") + ["ü", "\u00a0"])

    @settings(derandomize=True, max_examples=300, deadline=None, database=None)
    @given(st.text(alphabet, max_size=12))
    def check(text):
        _check_round_trip(text)

    check()
