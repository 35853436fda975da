"""Choosing the prompt format (chat template vs plain completion) in the parent, rendering the
completion prompt, and the prompt set's layout — without llama.cpp."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.base import ChatMessage, EngineLoadError
from engines.gguf_header import GGUFHeaderError, read_metadata
from engines.llama_cpp import LlamaCppEngine, choose_template, prompt_format, render_completion
from evalcli.errors import ConfigError
from evalcli.inputs.config import EngineConfig
from evalcli.inputs.items import Item
from evalcli.inputs.prompts import build_messages, load_prompt_set
from evalcli.run.engine_setup import resolve_engine
from tests.helpers import evalcli, write_profile

pytest.importorskip("gguf")
from tests.tiny_gguf import SIMPLE_CHAT_TEMPLATE, write_tiny_gguf  # noqa: E402

OPEN = Item(dataset="d", item_id="o1", type="open", question="Who built it?",
            answers=["Ada"], passage="Ada built the bridge in 1900.")
CLOSED = Item(dataset="d", item_id="c1", type="closed", question="What is 2+2?", answers=["4"])


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gguf")
    return {"chat": write_tiny_gguf(root / "chat.gguf", chat_template=SIMPLE_CHAT_TEMPLATE),
            "base": write_tiny_gguf(root / "base.gguf")}


def _resolve(model: Path, **options):
    engine = EngineConfig(name="llama_cpp", workers=1,
                          options={"model": str(model), "n_threads": 1, **options})
    return resolve_engine(engine, base_dir=model.parent, label="p.toml", units=1)


def test_header_reader_sees_the_template_and_skips_the_vocabulary(ggufs):
    chat, base = read_metadata(ggufs["chat"]), read_metadata(ggufs["base"])
    assert chat["tokenizer.chat_template"] == SIMPLE_CHAT_TEMPLATE
    assert "tokenizer.chat_template" not in base
    assert base["general.architecture"] == "llama" and base["llama.block_count"] == 2
    assert "tokenizer.ggml.tokens" not in base  # arrays are skipped, not decoded


def test_header_reader_refuses_what_it_cannot_read(tmp_path, ggufs):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + bytes(20))
    with pytest.raises(GGUFHeaderError, match="bad magic"):
        read_metadata(bad)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(ggufs["base"].read_bytes()[:200])
    with pytest.raises(GGUFHeaderError, match="truncated"):
        read_metadata(truncated)


def test_auto_picks_the_ggufs_template_when_present_and_completion_when_not(ggufs):
    assert choose_template("auto", True) == "gguf" and choose_template("auto", False) == "completion"
    with_template, base = _resolve(ggufs["chat"]), _resolve(ggufs["base"])
    assert with_template.options.chat_template == "gguf"
    assert with_template.prompt_format == "chat:gguf"
    assert base.options.chat_template == "completion"
    assert base.prompt_format == "completion"


def test_an_explicit_choice_is_kept(ggufs):
    assert _resolve(ggufs["chat"], chat_template="completion").prompt_format == "completion"
    assert _resolve(ggufs["base"], chat_template="gemma3").prompt_format == "chat:gemma3"
    jinja = ggufs["base"].parent / "my.jinja"
    resolved = _resolve(ggufs["base"], chat_template="my.jinja")
    assert resolved.options.chat_template == str(jinja.resolve())
    assert prompt_format("gguf") == "chat:gguf"


def test_gguf_template_asked_of_a_base_model_is_refused_before_any_worker(ggufs):
    options = _resolve(ggufs["base"], chat_template="gguf").options
    with pytest.raises(EngineLoadError, match="has no tokenizer.chat_template.*completion"):
        LlamaCppEngine.preflight(options, workers=1)
    assert LlamaCppEngine.preflight(_resolve(ggufs["chat"], chat_template="gguf").options,
                                    workers=1) == []


def test_plan_only_shows_the_resolved_prompt_format(tmp_path, ggufs):
    profile = write_profile(tmp_path / "p.toml", engine="llama_cpp", workers=1,
                            options={"model": str(ggufs["base"]), "n_threads": 1})
    result = evalcli("run", "--profile", profile, "--plan-only", "--limit-items", "2",
                     "--runs-dir", tmp_path / "runs", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "\"prompt_format\": \"completion\"" in result.stdout


def test_completion_prompt_is_system_then_user_then_cue():
    messages = [ChatMessage("system", "SYS"), ChatMessage("user", "USER")]
    assert render_completion(messages, "\n\n", "\nAnswer:") == "SYS\n\nUSER\nAnswer:"
    assert render_completion([ChatMessage("system", ""), ChatMessage("user", "U")], "\n\n",
                             "\nA:") == "U\nA:"  # an empty system prompt adds no separator


def test_arms_share_the_user_text_and_the_system_text_leads():
    """Prefix-cache grouping: consecutive units of one condition share the system prefix."""
    prompts = load_prompt_set("worked-examples", Path.cwd()).prompts
    texts = {c: [render_completion(build_messages(prompts, c, item), "\n\n", "\nAnswer:")
                 for item in (OPEN, CLOSED)] for c in prompts.conditions}
    for condition, (first, second) in texts.items():
        system = prompts.system[condition].strip()
        assert first.startswith(system + "\n\n") and second.startswith(system + "\n\n")
    control, examples = texts["control"][0], texts["examples"][0]
    assert control.split("\n\n", 1)[1] == examples.split(prompts.system["examples"].strip())[1][2:]
    assert control.endswith("Passage: Ada built the bridge in 1900.\nQuestion: Who built it?"
                            "\nAnswer:")


def test_default_layout_is_byte_identical_to_the_original():
    prompts = load_prompt_set("default", Path.cwd()).prompts
    user = build_messages(prompts, "control", OPEN)[1].content
    assert user == (f"{prompts.instructions.open.strip()}\n\nPASSAGE:\n{OPEN.passage}"
                    f"\n\nQUESTION:\n{OPEN.question}")
    user = build_messages(prompts, "control", CLOSED)[1].content
    assert user == f"{prompts.instructions.closed.strip()}\n\nQUESTION:\n{CLOSED.question}"


BASE_SET = """control = "a"
[system]
a = "A"
b = "B"
[instructions]
open = "O"
closed = "C"
"""


@pytest.mark.parametrize(("layout", "message"), [
    ('open = "{instructions} {passage} {questoin}"', "layout.open uses {questoin}"),
    ('closed = "{instructions}"', "layout.closed has no {question}"),
    ('open = "{question} {"', "layout.open: .*literal brace"),
])
def test_layout_mistakes_are_one_line_naming_the_key(tmp_path, layout, message):
    path = tmp_path / "set.toml"
    path.write_text(BASE_SET + "[layout]\n" + layout + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_prompt_set(str(path), tmp_path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_braces_in_passages_are_text(tmp_path):
    path = tmp_path / "set.toml"
    path.write_text(BASE_SET + '[layout]\nopen = "{instructions}|{passage}|{question}"\n',
                    encoding="utf-8")
    prompts = load_prompt_set(str(path), tmp_path).prompts
    item = Item(dataset="d", item_id="x", type="open", question="{q}?", answers=[],
                passage="a {b} c")
    assert build_messages(prompts, "a", item)[1].content == "O|a {b} c|{q}?"


def test_threads_per_worker_never_oversubscribe_the_cores_and_overrides_that_do_are_named(
        ggufs, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    for workers, threads in ((1, 8), (2, 4), (3, 2), (8, 1)):
        engine = EngineConfig(name="llama_cpp", workers=workers,
                              options={"model": str(ggufs["base"])})
        resolved = resolve_engine(engine, base_dir=ggufs["base"].parent, label="p.toml",
                                  units=100)
        assert (resolved.workers, resolved.options.n_threads) == (workers, threads)
        assert not [n for n in resolved.notes if "threads >" in n]
    engine = EngineConfig(name="llama_cpp", workers=4,
                          options={"model": str(ggufs["base"]), "n_threads": 4})
    resolved = resolve_engine(engine, base_dir=ggufs["base"].parent, label="p.toml",
                              units=100)
    [note] = [n for n in resolved.notes if "threads >" in n]
    assert note.startswith("4 llama.cpp worker(s) x 4 threads > 8 CPU cores")
    offloaded = EngineConfig(name="llama_cpp", workers=4, options={
        "model": str(ggufs["base"]), "n_threads": 4, "n_gpu_layers": -1})
    resolved = resolve_engine(offloaded, base_dir=ggufs["base"].parent, label="p.toml",
                              units=100)
    assert not [n for n in resolved.notes if "threads >" in n]
