"""Ollama engine: one request at a time over Ollama's native REST API (POST /api/chat).

    Request ──► {"model", "messages", "stream": false, "keep_alive",
                 "options": {temperature, top_p, top_k, num_predict, seed, stop,
                             num_ctx, repeat_penalty}}
            ◄── {"message": {"content"}, "done_reason", "prompt_eval_count", "eval_count",
                 "total_duration", "load_duration", "prompt_eval_duration", "eval_duration"}

Token counts Ollama leaves out (its Metrics fields are omitempty) are recorded as -1
("unknown"), never guessed. Durations arrive in nanoseconds and go to `Completion.timings`
in milliseconds. `num_ctx` and `keep_alive` are sent with every request and stay constant
for a run, so the server never reloads the model between requests.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from engines.base import (
    ChatMessage,
    Completion,
    Engine,
    EngineError,
    EngineLoadError,
    IntRange,
    Request,
    Url,
)
from engines.http import HttpError, HttpOptions, HttpSession, count_field

_DURATIONS = {
    "total_duration": "total_ms",
    "load_duration": "load_ms",
    "prompt_eval_duration": "prompt_eval_ms",
    "eval_duration": "eval_ms",
}


class OllamaOptions(HttpOptions, kw_only=True):
    model: str
    base_url: Url = "http://127.0.0.1:11434"
    keep_alive: str | int = "30m"  # how long the server keeps the model loaded after a request
    num_ctx: IntRange(1, 1 << 24) = 4096  # sent with every request; a change between requests reloads the model
    # Requests the server runs at once (its OLLAMA_NUM_PARALLEL, which a client cannot read).
    num_parallel: IntRange(1, 4096) = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model:
            raise ValueError("model must not be empty (e.g. model = \"llama3.1:8b\")")


def _tagged(name: str) -> str:
    """Ollama's canonical model name: a name without a tag means ':latest'."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def estimate_prompt_tokens(messages: list[ChatMessage]) -> int:
    """A rough prompt size for pre-flight: characters / 4, plus a few tokens per message
    for the chat template. An estimate only (Ollama has no tokenize endpoint)."""
    return sum(len(m.content) for m in messages) // 4 + 8 * len(messages)


class OllamaEngine(Engine):
    name: ClassVar[str] = "ollama"
    Options = OllamaOptions

    # -- parent-side checks ---------------------------------------------------------------
    @classmethod
    def preflight(
        cls, options: OllamaOptions, *, workers: int, longest_request: Request | None = None
    ) -> list[str]:
        base = options.base_url.rstrip("/")
        session = HttpSession(base, options, max_retries=min(options.max_retries, 1),
                              timeout_s=min(options.timeout_s, 30.0))
        warnings: list[str] = []
        try:
            try:
                session.request_json("GET", "/api/version")
            except HttpError as exc:
                if exc.status == 0:
                    raise EngineLoadError(
                        f"Ollama is not reachable at {base} — start it with: ollama serve"
                    ) from None
                raise EngineLoadError(
                    f"{base} answered GET /api/version with HTTP {exc.status}: "
                    f"is engine.options.base_url an Ollama server?"
                ) from None
            try:
                tags = session.request_json("GET", "/api/tags")
            except HttpError as exc:
                raise EngineLoadError(f"Ollama at {base}: could not list models ({exc})") from None
            names = set()
            for entry in tags.get("models") or []:
                for key in ("name", "model"):
                    if entry.get(key):
                        names.add(_tagged(entry[key]))
            if _tagged(options.model) not in names:
                raise EngineLoadError(
                    f'model "{options.model}" not found on {base} — run: ollama pull {options.model}'
                )
            warnings += cls._context_warnings(session, options, longest_request)
        finally:
            session.close()
        return warnings

    @classmethod
    def _context_warnings(
        cls, session: HttpSession, options: OllamaOptions, longest: Request | None
    ) -> list[str]:
        warnings = []
        try:
            show = session.request_json("POST", "/api/show", json={"model": options.model})
        except EngineError as exc:
            return [f"could not read the model's details from /api/show ({exc})"]
        capabilities = show.get("capabilities")
        if isinstance(capabilities, list) and capabilities and "completion" not in capabilities:
            raise EngineLoadError(
                f'model "{options.model}" cannot generate text (capabilities: '
                f"{', '.join(map(str, capabilities))}); choose a chat/completion model"
            )
        info = show.get("model_info") or {}
        trained = next(
            (int(v) for k, v in info.items() if k.endswith(".context_length") and v), None
        )
        if trained is not None and options.num_ctx > trained:
            warnings.append(
                f"engine.options.num_ctx = {options.num_ctx} exceeds the context length "
                f'{trained} that "{options.model}" was trained with'
            )
        if longest is not None:
            need = estimate_prompt_tokens(longest.messages) + longest.params.max_tokens
            if need > options.num_ctx:
                warnings.append(
                    f"the longest request needs about {need} tokens (prompt estimated at "
                    f"characters/4, plus max_tokens {longest.params.max_tokens}) but "
                    f"engine.options.num_ctx is {options.num_ctx}: Ollama silently cuts "
                    f"prompts that do not fit (the system prompt first); raise num_ctx"
                )
        return warnings

    @classmethod
    def worker_cap(cls, options: OllamaOptions) -> tuple[int | None, str]:
        n = options.num_parallel
        return n, (
            f"Ollama serves {n} request{'s' if n != 1 else ''} at a time "
            f"(OLLAMA_NUM_PARALLEL={n}"
            f"{', the server default' if n == 1 else ''}); set engine.options.num_parallel "
            f"to match the server"
        )

    # -- worker side ------------------------------------------------------------------------
    reuse = "local"  # the weights are named by their digest

    @classmethod
    def answer_identity(cls, options: OllamaOptions) -> dict[str, Any]:
        """The model by its digest (GET /api/tags), the server's version and num_ctx."""
        quick = HttpSession(options.base_url.rstrip("/"), options, max_retries=0,
                            timeout_s=10.0)
        try:
            version = str(quick.request_json("GET", "/api/version").get("version", ""))
            digest = ""
            for entry in quick.request_json("GET", "/api/tags").get("models") or []:
                if _tagged(entry.get("name") or entry.get("model") or "") == \
                        _tagged(options.model):
                    digest = str(entry.get("digest", ""))
        except (EngineError, KeyError, TypeError, AttributeError) as exc:
            raise EngineLoadError(f"could not read the model's digest ({exc})") from None
        finally:
            quick.close()
        if not digest:
            raise EngineLoadError(f"the server lists no digest for {options.model}")
        return {"model": _tagged(options.model), "digest": digest, "server_version": version,
                "num_ctx": options.num_ctx}

    def __init__(self, options: OllamaOptions, worker_index: int = 0) -> None:
        super().__init__(options, worker_index)
        self.base_url = options.base_url.rstrip("/")
        self.session = HttpSession(self.base_url, options)

    def describe(self) -> dict[str, str]:
        facts = {
            "base_url": self.base_url,
            "model": self.options.model,
            "num_ctx": str(self.options.num_ctx),
            "keep_alive": str(self.options.keep_alive),
        }
        try:  # best effort: facts for the manifest, never a reason to fail
            quick = HttpSession(self.base_url, self.options, max_retries=0, timeout_s=10.0)
            try:
                facts["server_version"] = str(quick.request_json("GET", "/api/version")["version"])
                for entry in quick.request_json("GET", "/api/tags").get("models") or []:
                    if _tagged(entry.get("name") or entry.get("model") or "") == _tagged(
                        self.options.model
                    ):
                        facts["digest"] = str(entry.get("digest", ""))
                        details = entry.get("details") or {}
                        for key in ("family", "parameter_size", "quantization_level"):
                            if details.get(key):
                                facts[key] = str(details[key])
            finally:
                quick.close()
        except (EngineError, KeyError, TypeError, AttributeError):
            pass
        return facts

    def payload(self, request: Request) -> dict[str, Any]:
        p = request.params
        return {
            "model": self.options.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": False,
            "keep_alive": self.options.keep_alive,
            "options": {
                "temperature": p.temperature,
                "top_p": p.top_p,
                "top_k": p.top_k,
                "num_predict": p.max_tokens,
                "seed": p.seed,
                "stop": list(p.stop),
                "num_ctx": self.options.num_ctx,
                "repeat_penalty": p.repeat_penalty,
            },
        }

    def generate(self, request: Request) -> Completion:
        started = time.perf_counter()
        data = self.session.request_json("POST", "/api/chat", json=self.payload(request))
        latency_ms = (time.perf_counter() - started) * 1000.0
        return parse_chat_response(data, latency_ms, attempts=self.session.last_attempts)

    def close(self) -> None:
        self.session.close()


def parse_chat_response(data: Any, latency_ms: float, *, attempts: int = 1) -> Completion:
    """Map one non-streaming /api/chat answer to a Completion, or raise EngineError."""
    if not isinstance(data, dict):
        raise EngineError("Ollama answered with JSON that is not an object", kind="bad_response")
    if data.get("error"):
        raise EngineError(f"Ollama error: {data['error']}", kind="model_error")
    message = data.get("message") or {}
    text = message.get("content") if isinstance(message, dict) else None
    reason = data.get("done_reason") or ""
    if data.get("done") is False:
        raise EngineError("Ollama returned an unfinished answer (done: false)", kind="bad_response")
    if not isinstance(text, str):
        raise EngineError("Ollama answer has no message.content", kind="bad_response")
    if not text and reason not in ("stop", "length"):
        raise EngineError(
            f"Ollama returned an empty answer (done_reason: {reason or 'missing'})",
            retryable=True,
            kind="empty_response",
        )
    timings = {ms: float(data[ns]) / 1e6 for ns, ms in _DURATIONS.items()
               if isinstance(data.get(ns), (int, float))}
    timings["attempts"] = float(attempts)
    return Completion(
        text=text,
        finish_reason=reason or "unknown",
        prompt_tokens=count_field(data, "prompt_eval_count"),
        completion_tokens=count_field(data, "eval_count"),
        latency_ms=latency_ms,
        timings=timings,
    )
