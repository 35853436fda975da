"""The report's Setup lines (report/setup_facts.py): the numbers add up, settings read as the
profile writes them, and an answer is quoted, never shown as a Python repr."""

from __future__ import annotations

from evalcli.report.setup_facts import (
    items_line,
    prompt_sets_line,
    reuse_facts,
    sampling_line,
)
from evalcli.store.manifest import (
    AnswerReuse,
    DeterminismCheck,
    Manifest,
    MaxTokens,
    Rerun,
    TrialParams,
)


def _params(**kw) -> TrialParams:
    base = dict(temperature=0.0, top_p=1.0, top_k=40, max_tokens=MaxTokens(open=24, closed=16),
                stop=["\n", "Q:"], repeat_penalty=1.0, seed=1234, samples_per_item=1,
                prompt_set="p")
    return TrialParams(**{**base, **kw})


def test_the_sampling_line_says_each_setting_once_and_the_swept_ones_apart():
    line = sampling_line([_params(), _params(temperature=0.7, top_p=0.9)])
    shared, swept = line.split("; swept: ")
    assert 'max_tokens=24/16 (open/closed)' in shared and 'stop=["\\n", "Q:"]' in shared
    assert "temperature" not in shared and "top_p" not in shared
    assert swept == "temperature 0.0, 0.7; top_p 0.9, 1.0"
    assert "{" not in line and "'" not in line  # no dict or list repr


def test_items_and_prompt_sets_lines_add_up():
    assert items_line(["open", "open", "closed"], [True, False, True]) == \
        "3 (2 open-book, 1 closed-book; 1 unanswerable)"
    assert prompt_sets_line([("a", ["control", "x"]), ("b", ["control"])], "control") == \
        "a — conditions: control, x; b — conditions: control (control: control)"


def test_differing_answers_are_quoted_as_json_strings_and_cut():
    manifest = Manifest(run_id="r", created_at="t")
    manifest.reuse = AnswerReuse(store="s", reused=3, from_runs={"r0": 3})
    manifest.determinism = DeterminismCheck(checked=12, identical=0, differing=[
        Rerun(custom_id=f"u{n}", recorded="it's \"NaCl\".\n", rerun="x" * 400)
        for n in range(12)])
    facts = reuse_facts(manifest, 10)
    assert facts["answers reused"].startswith("3 of 10 answers reused from run r0")
    assert facts["determinism check"] == "0 of 12 re-run units identical"
    line = facts["not identical: u0"]
    assert line.startswith('recorded "it\'s \\"NaCl\\".\\n"; re-run "xxx')
    assert line.count("x") == 300  # cut
    assert facts["not identical (more)"].startswith("2 more")
    assert "not identical: u10" not in facts


def test_nothing_said_when_reuse_and_the_check_were_off():
    assert reuse_facts(Manifest(run_id="r", created_at="t"), 10) == {}
