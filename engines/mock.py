"""A deterministic engine for dry runs and tests, with real faults on request.

Answers depend only on (item, system prompt, seed, temperature): the same request always
gets the same answer, whatever worker or call history served it. With an answer key
(item_key -> gold answers; [] = unanswerable) the mock answers correctly with probability
`accuracy`, abstains ("I don't know.") with probability `abstain_rate`, and otherwise gives
a wrong answer (`accuracy_by_condition` sets it per arm — the condition is the third field
of the unit id — so tests can run an A/B with a known true difference). Without a key it
echoes a deterministic pseudo-answer.

Fault injection (for the crash matrix in tests/process): a request whose unit_id contains
one of these substrings makes the worker
    fail_on   raise EngineError          (a per-unit failure)
    raise_on  raise RuntimeError         (an engine bug: fails that unit only)
    fault_on  raise EngineFault          (a native fault: the worker replies, then exits)
    crash_on  os._exit(17)               (the process dies, as after a native crash)
    kill_on   SIGKILL itself              (as the OOM killer would)
    hang_on   sleep forever              (the supervisor's unit timeout must kill it)
and `fail_load = true` makes the engine fail to start, `exit_on_load = true` makes the worker
die while starting. `fail_retryable = true` makes fail_on's EngineError retryable; with
`heal_file` set, fail_on stops failing once that file exists (a failure that goes away, for
resume and retry tests).

A gate holds work at a known point, so tests need no sleeps: with `gate_file` set, a worker
that has answered `gate_after` units waits before each further unit until that file exists.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
import uuid

import msgspec

from engines.base import (
    MAX_SECONDS,
    Completion,
    ConfigStruct,
    Engine,
    EngineError,
    EngineFault,
    EngineLoadError,
    FloatRange,
    IntRange,
    Probability,
    Request,
)

ABSTAIN_TEXT = "I don't know."


class MockEngine(Engine):
    name = "mock"

    class Options(ConfigStruct):
        model: str = "mock"
        accuracy: Probability = 0.7
        # per condition (the third field of the unit id): overrides `accuracy` for that arm
        accuracy_by_condition: dict[str, Probability] = {}
        abstain_rate: Probability = 0.1
        latency_ms: FloatRange(ge=0, le=MAX_SECONDS * 1000) = 0.0
        # this many characters more per answer, one word after it (for memory benchmarks:
        # what a stage holds must not grow with the answers)
        padding_chars: IntRange(0, 100_000_000) = 0
        answer_key: dict[str, list[str]] = {}
        # with no answer_key: an items.jsonl to read it from, in the worker (evalcli sets the
        # run's own, so the supervisor holds no per-item key)
        answer_file: str = ""
        fail_on: list[str] = []
        raise_on: list[str] = []
        fault_on: list[str] = []
        crash_on: list[str] = []
        kill_on: list[str] = []
        hang_on: list[str] = []
        fail_load: bool = False
        exit_on_load: bool = False
        fail_retryable: bool = False
        heal_file: str = ""
        gate_file: str = ""
        gate_after: IntRange(0) = 0
        # a busy neighbour that starts mid-run (tests of fair resource comparisons): from
        # this worker's (busy_after + 1)-th unit on, each unit takes busy_latency_ms instead
        busy_after: IntRange(0) = 0
        busy_latency_ms: FloatRange(ge=0, le=MAX_SECONDS * 1000) = 0.0

    reuse = "local"  # an answer is a function of the options and the request

    @classmethod
    def answer_identity(cls, options: Options) -> dict:
        """The options that shape answers; the answer file by its content."""
        data = msgspec.to_builtins(options)
        for timing in ("latency_ms", "gate_file", "gate_after", "heal_file", "busy_after",
                       "busy_latency_ms"):
            data.pop(timing, None)
        if options.answer_file:
            try:
                with open(options.answer_file, "rb") as fh:
                    data["answer_file"] = hashlib.sha256(fh.read()).hexdigest()
            except OSError as exc:
                raise EngineLoadError(f"cannot read {options.answer_file}: {exc}") from None
        return data

    def __init__(self, options: Options, worker_index: int = 0) -> None:
        super().__init__(options, worker_index)
        if options.fail_load:
            raise EngineLoadError("mock engine told to fail on load (fail_load = true)")
        if options.exit_on_load:
            os._exit(17)
        self._answered = 0
        self._key = options.answer_key or (_read_key(options.answer_file)
                                           if options.answer_file else {})

    def describe(self) -> dict[str, str]:
        return {"model": self.options.model, "accuracy": str(self.options.accuracy)}

    def generate(self, request: Request) -> Completion:
        opts = self.options
        uid = request.unit_id
        if _hit(uid, opts.kill_on):
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        if _hit(uid, opts.crash_on):
            os._exit(17)
        if _hit(uid, opts.hang_on):
            while True:
                time.sleep(3600)
        if _hit(uid, opts.raise_on):
            raise RuntimeError(f"mock engine bug on {uid}")
        if _hit(uid, opts.fault_on) and not (opts.heal_file and os.path.exists(opts.heal_file)):
            raise EngineFault(f"mock native fault on {uid}", kind="mock_failure")
        if _hit(uid, opts.fail_on) and not (opts.heal_file and os.path.exists(opts.heal_file)):
            raise EngineError(f"mock engine refused {uid}", kind="mock_failure",
                              retryable=opts.fail_retryable)

        if opts.gate_file and self._answered >= opts.gate_after:
            while not os.path.exists(opts.gate_file):
                time.sleep(0.01)
        self._answered += 1
        started = time.perf_counter()
        latency = opts.busy_latency_ms if opts.busy_latency_ms and \
            self._answered > opts.busy_after else opts.latency_ms
        if latency > 0:
            time.sleep(latency / 1000.0)
        text = self._answer(request)
        if self.options.padding_chars > 0:
            text += " " + "z" * self.options.padding_chars
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        completion_tokens = max(1, len(text.split()))
        if completion_tokens > request.params.max_tokens:
            text = " ".join(text.split()[: request.params.max_tokens])
            completion_tokens, finish = request.params.max_tokens, "length"
        else:
            finish = "stop"
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            request_id=str(uuid.uuid4()),
        )

    def _answer(self, request: Request) -> str:
        system = next((m.content for m in request.messages if m.role == "system"), "")
        p = request.params
        draw = _uniform(request.item_key or request.unit_id, system, p.seed, p.temperature)
        golds = self._key.get(request.item_key)
        if golds is None:
            return f"answer-{_digest(request.item_key, system)[:6]}"
        if draw < self.options.abstain_rate:
            return ABSTAIN_TEXT
        if draw < self.options.abstain_rate + self._accuracy(request.unit_id):
            return golds[0] if golds else ABSTAIN_TEXT
        return "a wrong answer"


    def _accuracy(self, unit_id: str) -> float:
        parts = unit_id.split("|")  # dataset|item_id|condition|temp|sample|type
        by_condition = self.options.accuracy_by_condition
        if len(parts) == 6 and parts[2] in by_condition:
            return by_condition[parts[2]]
        return self.options.accuracy


def _hit(unit_id: str, needles: list[str]) -> bool:
    return any(needle in unit_id for needle in needles)


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()


def _uniform(*parts: object) -> float:
    return int(_digest(*parts)[:12], 16) / float(16**12)


class _Gold(msgspec.Struct):
    dataset: str
    item_id: str
    answers: list[str] = []
    answerable: bool = True


def _read_key(path: str) -> dict[str, list[str]]:
    """item_key -> gold answers ([] = unanswerable) from an items.jsonl."""
    decode = msgspec.json.Decoder(_Gold).decode
    key = {}
    try:
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    gold = decode(line)
                    key[f"{gold.dataset}|{gold.item_id}"] = gold.answers if gold.answerable \
                        else []
    except (OSError, msgspec.DecodeError) as exc:
        raise EngineLoadError(f"mock engine: cannot read its answer key from {path} ({exc}) - "
                              "set answer_file to an items.jsonl, or give answer_key") from None
    return key
