"""Native faults are named for what they are: a fault inside a llama.cpp call retires its
worker (EngineFault), and an abort() exit is never read as "could not start its engine"."""

from __future__ import annotations

import signal

import pytest

from engines.base import ChatMessage, EngineError, EngineFault, Request, SamplingParams
from engines.llama_cpp import LlamaCppEngine
from ipc.pool import describe_exit
from ipc.worker import BOOT_ERROR, RETIRED


class _FaultingLlama:
    """A stand-in `Llama` whose native call fails the way ctypes reports it on Windows."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.ctx = None

    def create_chat_completion(self, **kwargs):
        raise self.exc


def _engine(exc: BaseException) -> LlamaCppEngine:
    engine = LlamaCppEngine.__new__(LlamaCppEngine)  # no model: generate() is what is tested
    engine.options = LlamaCppEngine.Options(model="m.gguf")
    engine.llm, engine.template_name, engine._llama_cpp = _FaultingLlama(exc), "gguf", None
    engine.states = None  # saved system-prompt states off: the fault path is what is tested
    return engine


REQUEST = Request(unit_id="u", messages=[ChatMessage("user", "hi")],
                  params=SamplingParams(temperature=0.0, top_p=1.0, top_k=0, max_tokens=4,
                                        seed=1))


def test_an_oserror_from_llama_cpp_retires_the_worker():
    access_violation = OSError("exception: access violation reading 0x0000000000000010")
    with pytest.raises(EngineFault) as caught:
        _engine(access_violation).generate(REQUEST)
    assert caught.value.retryable and caught.value.kind == "llama_error"
    assert "access violation" in str(caught.value)


class _FaultingPerf:
    """llama_cpp's perf counters, faulting natively (as a ctypes call does on Windows)."""

    def llama_perf_context_reset(self, ctx):
        raise OSError("exception: access violation writing 0x0000000000000008")


def test_a_fault_in_the_perf_counters_retires_the_worker_too():
    engine = _engine(AssertionError("generation must not start"))
    engine._llama_cpp = _FaultingPerf()
    with pytest.raises(EngineFault, match="access violation writing"):
        engine.generate(REQUEST)


@pytest.mark.parametrize("exc, kind", [
    (ValueError("Requested tokens (600) exceed context window of 512"), "context_overflow"),
    (RuntimeError("llama_decode returned -1"), "llama_error"),
])
def test_ordinary_llama_errors_keep_the_worker(exc, kind):
    with pytest.raises(EngineError) as caught:
        _engine(exc).generate(REQUEST)
    assert not isinstance(caught.value, EngineFault) and caught.value.kind == kind


def test_abort_is_not_an_engine_that_could_not_start():
    assert BOOT_ERROR not in (1, 3) and RETIRED != BOOT_ERROR
    assert describe_exit(3, platform="win32").startswith("aborted: abort() in native code")
    assert describe_exit(3, platform="linux") == "exited with code 3"
    assert describe_exit(-signal.SIGABRT, platform="linux").startswith("aborted")
    assert describe_exit(BOOT_ERROR, platform="win32") == "could not start its engine"
    assert "native fault" in describe_exit(RETIRED)
    if hasattr(signal, "SIGKILL"):  # POSIX only (Windows has no SIGKILL)
        assert describe_exit(-signal.SIGKILL, platform="linux") == \
            "killed by SIGKILL (out of memory?)"
