"""Token counts are recorded when a unit finishes (run/token_counts.py, called by the result
sink), and predictions.csv takes them from the record alone — also from a record written
before that, which carries none (store/predictions.py `token_counts`)."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from engines.base import Completion
from engines.mock import MockEngine
from evalcli.inputs.config import SamplingConfig
from evalcli.inputs.items import Item
from evalcli.inputs.prompts import load_prompt_set
from evalcli.run.dashboard import Progress, TrialProgress
from evalcli.run.engine_setup import ResolvedEngine
from evalcli.run.plan import Plan
from evalcli.run.result_sink import ResultSink
from evalcli.run.token_counts import UnitTokens
from evalcli.science.tokens import SOURCES, estimate_tokens, prompt_text
from evalcli.store.manifest import Manifest, TrialState, write_manifest
from evalcli.store.predictions import NOT_RECORDED, prediction_row, token_counts
from evalcli.store.results import (
    LatestResults,
    ResultRecord,
    StatusIndex,
    TokensSource,
    failed_record,
    ok_record,
)
from evalcli.store.rundir import EventLog, RunDir

ITEMS = [Item(dataset="d", item_id="c1", type="closed", question="What is the capital?",
              answers=["Paris"])]


@pytest.fixture(autouse=True)
def _no_tiktoken(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))  # the estimate counts


def _plan(tmp_path: Path) -> Plan:
    """Two prompt sets whose treatments differ: both trials have a unit with the same
    custom_id and a different prompt."""
    base = load_prompt_set("default", Path.cwd())
    text = (Path(__file__).resolve().parents[2] / "evalcli/inputs/data/prompts/default.toml") \
        .read_text("utf-8")
    other_file = tmp_path / "long.toml"
    other_file.write_text(text.replace('treatment = """', 'treatment = """' + "Think. " * 50, 1),
                          encoding="utf-8")
    other = load_prompt_set(str(other_file), tmp_path)
    return Plan(items=ITEMS, prompt_sets=[("default", base.sha256, base.prompts),
                                          ("long", other.sha256, other.prompts)],
                engine_identity={}, model_label="m", sampling=SamplingConfig(), seed=5)


def _mock() -> ResolvedEngine:
    return ResolvedEngine("mock", MockEngine, MockEngine.Options(), 1, "")


def _completion(prompt: int, completion: int) -> Completion:
    return Completion(text="Paris is it", finish_reason="stop", prompt_tokens=prompt,
                      completion_tokens=completion, latency_ms=1.0)


def test_the_sources_a_record_may_carry_are_the_counters_sources():
    assert typing.get_args(TokensSource) == SOURCES


def test_engine_counts_stay_and_no_counter_is_opened(tmp_path):
    plan = _plan(tmp_path)
    tokens = UnitTokens(plan, [_mock()])
    unit = plan.units[0]
    record = ok_record(unit.custom_id, _completion(12, 3), worker=0, attempts=1)
    assert tokens.fill(unit, record) is record and tokens.opened == {}
    assert token_counts(record) == (12, 3, "engine")


def test_missing_counts_are_counted_from_the_units_own_request(tmp_path):
    plan = _plan(tmp_path)
    tokens = UnitTokens(plan, [_mock()])
    first, second = plan.trials
    [a] = [u for u in plan.units if u.trial == first.slug and u.condition == "treatment"]
    [b] = [u for u in plan.units if u.trial == second.slug and u.condition == "treatment"]
    assert a.custom_id == b.custom_id  # the same custom_id, a different prompt
    counted = {}
    for unit in (a, b):
        record = tokens.fill(unit, failed_record(unit.custom_id, "boom", "engine_error",
                                                 worker=0, attempts=1))
        sent = estimate_tokens(prompt_text(plan.request(unit).messages))
        assert (record.prompt_tokens, record.completion_tokens, record.tokens_source) == \
            (sent, 0, "estimate")
        counted[unit.trial] = record.prompt_tokens
    assert counted[second.slug] > counted[first.slug] + 50
    answer = tokens.fill(a, ok_record(a.custom_id, _completion(-1, -1), worker=0, attempts=1))
    assert (answer.completion_tokens, answer.tokens_source) == (3, "estimate")  # 11 chars / 4
    partial = tokens.fill(a, ok_record(a.custom_id, _completion(40, -1), worker=0, attempts=1))
    assert (partial.prompt_tokens, partial.completion_tokens) == (40, 3)


class _Tokenizer:
    """A model's own tokenizer (what LlamaCppEngine.tokenizer returns), one token a word."""

    source = "tokenizer"
    opened: list[_Tokenizer] = []

    def __init__(self) -> None:
        self.closed = False
        _Tokenizer.opened.append(self)

    def count(self, text: str) -> int:
        return len(text.split())

    def count_prompt(self, messages) -> int:
        return sum(len(m.content.split()) for m in messages)

    def close(self) -> None:
        self.closed = True


class _EngineWithTokenizer(MockEngine):
    @classmethod
    def tokenizer(cls, options):
        return _Tokenizer()


def test_the_engines_own_tokenizer_counts_first_and_is_opened_once_and_closed(tmp_path):
    plan = _plan(tmp_path)
    _Tokenizer.opened.clear()
    engine = ResolvedEngine("mock", _EngineWithTokenizer, MockEngine.Options(), 1, "")
    tokens = UnitTokens(plan, [engine])
    for unit in list(plan.units)[:3]:
        record = tokens.fill(unit, failed_record(unit.custom_id, "x", "llama_error",
                                                 worker=0, attempts=1))
        words = sum(len(m.content.split()) for m in plan.request(unit).messages)
        assert (record.prompt_tokens, record.tokens_source) == (words, "tokenizer")
    [tokenizer] = _Tokenizer.opened
    tokens.close()
    assert tokenizer.closed


class _BrokenTemplate(_Tokenizer):
    def count_prompt(self, messages) -> int:
        raise ValueError("the chat template cannot render this prompt")


class _EngineWithBrokenTemplate(MockEngine):
    @classmethod
    def tokenizer(cls, options):
        return _BrokenTemplate()


def test_a_tokenizer_that_cannot_count_a_prompt_never_stops_the_run(tmp_path):
    """The worker failed on a prompt its chat template cannot render; the tokenizer fails on
    it the same way: the unit is counted by the generic counter, which says so."""
    plan = _plan(tmp_path)
    engine = ResolvedEngine("mock", _EngineWithBrokenTemplate, MockEngine.Options(), 1, "")
    tokens = UnitTokens(plan, [engine])
    unit = plan.units[0]
    record = tokens.fill(unit, failed_record(unit.custom_id, "template", "llama_error",
                                             worker=0, attempts=1))
    assert (record.prompt_tokens, record.tokens_source) == \
        (estimate_tokens(prompt_text(plan.request(unit).messages)), "estimate")
    tokens.close()


def test_the_sink_writes_the_counts_into_results_jsonl(tmp_path):
    plan = _plan(tmp_path)
    slug = plan.trials[0].slug
    rd = RunDir(tmp_path, "r")
    rd.root.mkdir(parents=True)
    manifest = Manifest(run_id="r", created_at="2026-12-07T00:00:00Z",
                        trials={slug: TrialState(temperature=0.0, planned=2, pending=2)})
    write_manifest(rd.manifest, manifest)
    events = EventLog(rd.events)
    tokens = UnitTokens(plan, [_mock()])
    sink = ResultSink(rd=rd, manifest=manifest, trials=[slug], finished={slug: StatusIndex()},
                      progress=Progress("r", {slug: TrialProgress(planned=2)}), events=events,
                      pooled=False, tokens=tokens)
    ok, failed = [u for u in plan.units if u.trial == slug]
    sink.on_result(ok, ok_record(ok.custom_id, _completion(9, 2), worker=0, attempts=1))
    sink.on_result(failed, failed_record(failed.custom_id, "boom", "engine_error", worker=0,
                                         attempts=1))
    sink.close()
    events.close()
    lines = [json.loads(x) for x in rd.results(slug).read_text("utf-8").splitlines()]
    assert "tokens_source" not in lines[0] and lines[0]["prompt_tokens"] == 9
    sent = estimate_tokens(prompt_text(plan.request(failed).messages))
    assert (lines[1]["prompt_tokens"], lines[1].get("completion_tokens", 0),
            lines[1]["tokens_source"]) == (sent, 0, "estimate")
    with LatestResults(rd.results(slug)) as results:  # the parse stage reads it back alone
        row = prediction_row(failed.custom_id, results.get(failed.custom_id))
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens,
            row.tokens_source) == (sent, 0, sent, "estimate")


# results.jsonl lines as an evalcli before counts were recorded at the finish wrote them
OLD_LINES = [
    '{"custom_id":"d|c1|control|0.0|0|closed","status":"ok","text":"Paris",'
    '"finish_reason":"stop","prompt_tokens":30,"completion_tokens":2,"worker":0}',
    '{"custom_id":"d|c2|control|0.0|0|closed","status":"failed","finish_reason":"error",'
    '"worker":0,"attempts":3,"error":"boom","error_kind":"crash"}',
    '{"custom_id":"d|c3|control|0.0|0|closed","status":"ok","text":"Rome",'
    '"finish_reason":"stop","prompt_tokens":-1,"completion_tokens":-1,"worker":0}',
]


def test_an_older_results_file_reads_with_its_missing_counts_not_recorded(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(OLD_LINES) + "\n", encoding="utf-8")
    with LatestResults(path) as results:
        rows = [prediction_row(f"d|c{n}|control|0.0|0|closed",
                               results.get(f"d|c{n}|control|0.0|0|closed")) for n in (1, 2, 3)]
    counts = [(r.prompt_tokens, r.completion_tokens, r.total_tokens, r.tokens_source)
              for r in rows]
    assert counts == [(30, 2, 32, "engine"), (-1, -1, -1, NOT_RECORDED),
                      (-1, -1, -1, NOT_RECORDED)]


def test_a_record_counted_at_the_finish_keeps_its_source():
    record = ResultRecord(custom_id="d|c1|control|0.0|0|closed", status="failed",
                          prompt_tokens=17, tokens_source="tokenizer")
    assert token_counts(record) == (17, 0, "tokenizer")
