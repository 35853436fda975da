"""Batch engines (Fireworks, OpenAI Batch) against loopback servers: submit, poll, download,
map back by custom_id, per-unit errors, stop and resume without resubmitting."""

from __future__ import annotations

import copy
import json

import msgspec
import pytest
from conftest import FAST, make_request
from loopback import FakeFireworks, FakeOpenAI

from engines import engine_class
from engines.base import Completion, EngineError, EngineLoadError
from engines.batch import BatchEngine
from engines.fireworks_batch import FireworksBatchEngine, FireworksBatchOptions
from engines.openai_batch import OpenAIBatchEngine, OpenAIBatchOptions

KEY = "fw-secret"


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("EVALCLI_FW_KEY", KEY)
    monkeypatch.setenv("EVALCLI_OAI_KEY", "sk-batch-secret")


def fw_options(url: str, **over) -> FireworksBatchOptions:
    return msgspec.convert(FAST | {"model": "accounts/fireworks/models/llama-v3p1-8b-instruct",
                                   "account_id": "acc", "base_url": url,
                                   "api_key_env": "EVALCLI_FW_KEY", "poll_interval_s": 0.0,
                                   "dataset_ready_timeout_s": 5.0} | over,
                           FireworksBatchOptions)


def oai_options(url: str, **over) -> OpenAIBatchOptions:
    return msgspec.convert(FAST | {"model": "gpt-4o-mini", "base_url": url,
                                   "api_key_env": "EVALCLI_OAI_KEY", "poll_interval_s": 0.0}
                           | over, OpenAIBatchOptions)


def units(n: int = 3, fail: int | None = None):
    return [make_request(f"sample|q{i}|control|0.0|0|open",
                         user=("FAIL " if i == fail else "") + f"question {i}",
                         temperature=0.1 * i, max_tokens=32 + i)
            for i in range(n)]


class Harness:
    """What the generate stage does: persist state, collect results, maybe stop."""

    def __init__(self, stop_after_saves: int | None = None):
        self.state: dict = {}
        self.saved: list[dict] = []
        self.results: dict[str, Completion | EngineError] = {}
        self.stop_after_saves = stop_after_saves

    def save(self, state: dict) -> None:
        self.saved.append(copy.deepcopy(state))
        json.dumps(state)  # must be JSON-able

    def on_result(self, cid: str, result) -> None:
        assert cid not in self.results, f"{cid} reported twice"
        self.results[cid] = result

    def should_stop(self) -> bool:
        return self.stop_after_saves is not None and len(self.saved) >= self.stop_after_saves

    def run(self, engine: BatchEngine, requests) -> None:
        engine.run(requests, self.state, self.save, self.on_result, self.should_stop)


def test_registry_resolves():
    assert engine_class("fireworks_batch") is FireworksBatchEngine
    assert engine_class("openai_batch") is OpenAIBatchEngine


def test_fireworks_end_to_end(fireworks_server):
    h = Harness()
    engine = FireworksBatchEngine(fw_options(fireworks_server.url))
    reqs = units(3, fail=2)
    h.run(engine, reqs)
    assert set(h.results) == {r.unit_id for r in reqs}
    ok = h.results[reqs[1].unit_id]
    assert isinstance(ok, Completion) and ok.text == "echo: question 1"
    assert ok.request_id == f"fw-{reqs[1].unit_id}" and ok.latency_ms == -1.0
    bad = h.results[reqs[2].unit_id]
    assert isinstance(bad, EngineError) and "injected row error" in str(bad)
    # wire format: dataset lines carry custom_id + every sampling parameter
    [ds] = [d for name, d in fireworks_server.datasets.items() if name.endswith("-in")]
    lines = [json.loads(x) for x in ds["files"]["input.jsonl"].decode().splitlines()]
    assert [x["custom_id"] for x in lines] == [r.unit_id for r in reqs]
    assert lines[1]["body"] == {
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "question 1"}],
        "max_tokens": 33, "temperature": 0.1, "top_p": 1.0, "top_k": 40, "seed": 1234, "n": 1}
    [job] = fireworks_server.jobs.values()
    assert job["body"]["model"] == "accounts/fireworks/models/llama-v3p1-8b-instruct"
    assert job["body"]["inputDatasetId"].startswith("accounts/acc/datasets/evalcli-")
    assert h.state["jobs"][0]["status"] == "done"
    assert all(KEY not in json.dumps(s) for s in h.saved)


def test_fireworks_resume_reattaches_instead_of_resubmitting(fireworks_server):
    fireworks_server.job_polls = 3
    reqs = units(4)
    first = Harness(stop_after_saves=4)  # stops once the job exists, while it is RUNNING
    first.run(FireworksBatchEngine(fw_options(fireworks_server.url)), reqs)
    assert first.results == {}
    job = first.state["jobs"][0]
    assert job["job_id"] and job["status"] == "submitted"
    assert len(fireworks_server.jobs) == 1

    second = Harness()
    second.state = json.loads(json.dumps(first.state))  # as persisted on disk
    second.run(FireworksBatchEngine(fw_options(fireworks_server.url)), reqs)
    assert len(fireworks_server.jobs) == 1  # no second job
    assert len(fireworks_server.calls("/v1/accounts/acc/batchInferenceJobs", "POST")) == 1
    assert set(second.results) == {r.unit_id for r in reqs}


class Crash(Exception):
    pass


def test_fireworks_resume_after_crash_between_create_and_save(fireworks_server):
    reqs = units(2)
    engine = FireworksBatchEngine(fw_options(fireworks_server.url))
    real = engine.session.request_json

    def crash_after_job_create(method, path, **kw):
        answer = real(method, path, **kw)
        if method == "POST" and path.endswith("/batchInferenceJobs"):
            raise Crash  # the job exists remotely; its id never reached save_state
        return answer

    engine.session.request_json = crash_after_job_create
    first = Harness()
    with pytest.raises(Crash):
        first.run(engine, reqs)
    saved = first.saved[-1]
    assert "job_id" not in saved["jobs"][0] and len(fireworks_server.jobs) == 1

    second = Harness()
    second.state = json.loads(json.dumps(saved))
    second.run(FireworksBatchEngine(fw_options(fireworks_server.url)), reqs)
    assert len(fireworks_server.jobs) == 1  # create answered 409 → attached
    assert set(second.results) == {r.unit_id for r in reqs}


def test_fireworks_units_already_recorded_are_not_reported_again(fireworks_server):
    fireworks_server.job_polls = 2
    reqs = units(3)
    first = Harness(stop_after_saves=4)
    first.run(FireworksBatchEngine(fw_options(fireworks_server.url)), reqs)
    second = Harness()
    second.state = first.state
    second.run(FireworksBatchEngine(fw_options(fireworks_server.url)), reqs[1:])
    assert set(second.results) == {r.unit_id for r in reqs[1:]}


def test_fireworks_missing_output_is_a_unit_error(fireworks_server):
    reqs = units(2)
    fireworks_server.drop_results = {reqs[0].unit_id}
    h = Harness()
    h.run(FireworksBatchEngine(fw_options(fireworks_server.url)), reqs)
    err = h.results[reqs[0].unit_id]
    assert isinstance(err, EngineError) and err.kind == "batch_missing"
    assert isinstance(h.results[reqs[1].unit_id], Completion)


def test_fireworks_failed_job_fails_every_unit():
    with FakeFireworks(final_state="JOB_STATE_FAILED") as server:
        h = Harness()
        reqs = units(2)
        h.run(FireworksBatchEngine(fw_options(server.url)), reqs)
    assert all(isinstance(v, EngineError) and "FAILED" in str(v) for v in h.results.values())
    assert len(h.results) == 2


def test_fireworks_download_failure_keeps_job_for_resume(fireworks_server):
    reqs = units(2)
    engine = FireworksBatchEngine(fw_options(fireworks_server.url))
    h = Harness()
    original = engine.output_lines

    def broken(job):
        raise EngineError("download failed", retryable=True, kind="connection")

    engine.output_lines = broken
    with pytest.raises(EngineError):
        h.run(engine, reqs)
    assert h.results == {} and h.state["jobs"][0]["status"] == "submitted"
    engine.output_lines = original
    h.run(engine, reqs)
    assert len(h.results) == 2 and len(fireworks_server.jobs) == 1


def test_fireworks_preflight(fireworks_server, dead_url, monkeypatch):
    assert FireworksBatchEngine.preflight(fw_options(fireworks_server.url)) == []
    with pytest.raises(EngineLoadError, match="account \"nope\" not found"):
        FireworksBatchEngine.preflight(fw_options(fireworks_server.url, account_id="nope"))
    monkeypatch.setenv("EVALCLI_FW_KEY", "wrong")
    with pytest.raises(EngineLoadError, match=r"refused the key in \$EVALCLI_FW_KEY"):
        FireworksBatchEngine.preflight(fw_options(fireworks_server.url))
    with pytest.raises(EngineLoadError, match="not reachable"):
        FireworksBatchEngine.preflight(fw_options(dead_url))
    monkeypatch.delenv("EVALCLI_FW_KEY")
    with pytest.raises(EngineLoadError, match="EVALCLI_FW_KEY"):
        FireworksBatchEngine.preflight(fw_options(fireworks_server.url))


def test_fireworks_describe_has_no_key(fireworks_server):
    facts = FireworksBatchEngine(fw_options(fireworks_server.url)).describe()
    assert KEY not in repr(facts) and facts["account_id"] == "acc"


def test_fireworks_chunks_into_several_jobs(fireworks_server):
    h = Harness()
    reqs = units(5)
    h.run(FireworksBatchEngine(fw_options(fireworks_server.url, max_requests_per_job=2)), reqs)
    assert len(fireworks_server.jobs) == 3 and len(h.results) == 5


# -- OpenAI Batch ----------------------------------------------------------------------------

def test_openai_batch_end_to_end():
    with FakeOpenAI(api_key="sk-batch-secret") as server:
        h = Harness()
        reqs = units(3, fail=0)
        h.run(OpenAIBatchEngine(oai_options(server.url)), reqs)
        [upload] = server.calls("/v1/files", "POST")
        lines = [json.loads(x) for x in server.files["file-1"].decode().splitlines()]
    assert lines[2] == {"custom_id": reqs[2].unit_id, "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": {"model": "gpt-4o-mini",
                                 "messages": [{"role": "system", "content": "Be brief."},
                                              {"role": "user", "content": "question 2"}],
                                 "temperature": 0.2, "top_p": 1.0, "max_tokens": 34,
                                 "seed": 1234, "n": 1, "stream": False}}
    assert isinstance(h.results[reqs[0].unit_id], EngineError)
    assert "injected per-request error" in str(h.results[reqs[0].unit_id])
    assert h.results[reqs[2].unit_id].text == "echo: question 2"
    assert h.results[reqs[2].unit_id].request_id.startswith("chatcmpl-")


def test_openai_batch_resume_finds_batch_created_before_crash():
    with FakeOpenAI(api_key="sk-batch-secret", batch_polls=2) as server:
        reqs = units(2)
        first = Harness(stop_after_saves=4)
        first.run(OpenAIBatchEngine(oai_options(server.url)), reqs)
        assert len(server.batches) == 1
        # lose the recorded batch id, as if the process died right after the create call
        state = json.loads(json.dumps(first.state))
        state["jobs"][0].pop("job_id")
        state["jobs"][0]["status"] = "new"
        second = Harness()
        second.state = state
        second.run(OpenAIBatchEngine(oai_options(server.url)), reqs)
        assert len(server.batches) == 1
        assert set(second.results) == {r.unit_id for r in reqs}


def test_a_batch_run_whose_requests_fail_ends_with_one_line(tmp_path):
    """Failed units have no token counts: the parse stage counts their prompts itself, and a
    batch engine (no model tokenizer here) must say so instead of a traceback."""
    from tests.helpers import evalcli, write_profile

    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps({"item_id": f"i{i}", "question": f"FAIL {i}",
                                        "answers": ["a"]}) + "\n" for i in range(2)),
                    encoding="utf-8")
    with FakeOpenAI(api_key="sk-batch-secret") as server:
        profile = write_profile(tmp_path / "p.toml", engine="openai_batch", workers=1,
                                options={"model": "demo", "base_url": server.url,
                                         "api_key_env": "EVALCLI_OAI_KEY",
                                         "poll_interval_s": 0.0},
                                datasets=[{"format": "jsonl", "path": str(data)}])
        result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs",
                         "--run-id", "b")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 5, result.stdout + result.stderr
    assert result.stderr.strip().count("\n") == 0 and "4 of 4 units failed" in result.stderr
