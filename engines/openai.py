"""OpenAI-compatible engine: POST {base_url}/v1/chat/completions, one request at a time.

Works against llama-server, llama-cpp-python's server, vLLM, LM Studio, Ollama's /v1 and
hosted APIs. Several servers can share the work: `base_urls = [...]` gives worker i the
URL i mod len(base_urls).

    Request ──► {"model", "messages", "temperature", "top_p", "max_tokens", "seed", "n": 1,
                 "stream": false, "stop"?, "top_k"?, "repeat_penalty"?}
            ◄── {"id", "choices": [{"message": {"content"}, "finish_reason"}],
                 "usage": {"prompt_tokens", "completion_tokens", ...}, "timings"?}

`top_k` and `repeat_penalty` are sent only with `send_extra_sampling = true`: hosted APIs
reject unknown fields, while local servers apply their own defaults when they are missing
(llama-cpp-python's server: repeat_penalty 1.1). `stop` is sent when non-empty.

The API key is read from the environment variable named by `api_key_env`; it lives only in
the Authorization header and is scrubbed from every error message. It never appears in
describe(), errors, logs or the manifest.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

from engines.base import (
    Completion,
    Engine,
    EngineError,
    EngineLoadError,
    IntRange,
    Request,
    Seconds,
    Url,
)
from engines.http import HttpError, HttpOptions, HttpSession, count_field, is_loopback
from engines.secrets import BadKey, read_key

# llama-server's "timings" object → Completion.timings keys
_SERVER_TIMINGS = {
    "prompt_ms": "prompt_ms",
    "predicted_ms": "predicted_ms",
    "prompt_n": "prompt_n",
    "predicted_n": "predicted_n",
    "cache_n": "cached_prompt_tokens",
}


class OpenAIOptions(HttpOptions, kw_only=True):
    model: str
    base_url: Url = ""  # e.g. "http://127.0.0.1:8080" or "https://api.openai.com/v1"
    base_urls: list[Url] = []  # a fleet: worker i uses base_urls[i % len(base_urls)]
    api_key_env: str = ""  # name of the environment variable holding the key; "" = no auth
    send_extra_sampling: bool = False  # also send top_k and repeat_penalty
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    max_workers: IntRange(1, 4096) | None = None  # e.g. the server's slot count × len(base_urls)
    timeout_s: Seconds = 300.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model:
            raise ValueError("model must not be empty")
        if bool(self.base_url) == bool(self.base_urls):
            raise ValueError("set exactly one of base_url or base_urls")

    @property
    def urls(self) -> list[str]:
        return [normalize_base_url(u) for u in (self.base_urls or [self.base_url])]


def normalize_base_url(url: str) -> str:
    """The server root, whether the profile wrote it with or without a trailing /v1."""
    url = url.strip().rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def api_key(options: OpenAIOptions) -> str:
    """The key from the named environment variable (checked by engines.secrets.read_key);
    EngineLoadError if it is named but unset, or cannot be sent (the key never shown)."""
    if not options.api_key_env:
        return ""
    try:
        value, _ = read_key(options.api_key_env)
    except BadKey as exc:
        raise EngineLoadError(str(exc)) from None
    if not value:
        raise EngineLoadError(
            f"engine.options.api_key_env names the environment variable "
            f"{options.api_key_env}, but it is not set (or empty); set it before the run"
        )
    return value


def _session(url: str, options: OpenAIOptions, **kw: Any) -> HttpSession:
    key = api_key(options)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return HttpSession(url, options, headers=headers, secrets=[key], **kw)


class OpenAIEngine(Engine):
    name: ClassVar[str] = "openai"
    Options = OpenAIOptions

    @classmethod
    def preflight(
        cls, options: OpenAIOptions, *, workers: int, longest_request: Request | None = None
    ) -> list[str]:
        warnings: list[str] = []
        for url in options.urls:
            session = _session(url, options, max_retries=min(options.max_retries, 1),
                               timeout_s=min(options.timeout_s, 30.0))
            try:
                warnings += cls._check_server(session, url, options)
            finally:
                session.close()
        if not options.send_extra_sampling and any(is_loopback(u) for u in options.urls):
            warnings.append(
                "top_k and repeat_penalty are not sent (engine.options.send_extra_sampling = "
                "false): a local server applies its own defaults (llama-cpp-python's server: "
                "repeat_penalty 1.1); set send_extra_sampling = true for local servers"
            )
        return warnings

    @classmethod
    def _check_server(cls, session: HttpSession, url: str, options: OpenAIOptions) -> list[str]:
        try:
            listing = session.request_json("GET", "/v1/models")
        except HttpError as exc:
            if exc.status in (401, 403):
                source = f"${options.api_key_env}" if options.api_key_env else "no API key"
                raise EngineLoadError(
                    f"{url} refused GET /v1/models with HTTP {exc.status} (credentials from "
                    f"{source}): check engine.options.api_key_env"
                ) from None
            if exc.status in (404, 405, 501):
                return [f"{url} does not list its models (GET /v1/models → HTTP {exc.status}); "
                        f'the model name "{options.model}" is not checked before the run']
            raise EngineLoadError(
                f"OpenAI-compatible server is not reachable at {url} ({exc})"
            ) from None
        served = [session.scrub(str(m.get("id"))) for m in (listing.get("data") or [])
                  if isinstance(m, dict) and m.get("id")] if isinstance(listing, dict) else []
        if served and options.model not in served:
            shown = ", ".join(served[:10]) + (f" (+{len(served) - 10} more)" if len(served) > 10 else "")
            raise EngineLoadError(
                f'model "{options.model}" is not served by {url}; it serves: {shown} — '
                f"set engine.options.model to one of these"
            )
        return []

    reuse = "remote"  # a server evalcli does not control: reused only when asked for

    @classmethod
    def answer_identity(cls, options: OpenAIOptions) -> dict[str, Any]:
        """The server(s) and the model; never the key."""
        return {"base_urls": sorted(options.urls), "model": options.model,
                "send_extra_sampling": options.send_extra_sampling,
                "max_tokens_field": options.max_tokens_field}

    @classmethod
    def secrets(cls, options: OpenAIOptions) -> list[str]:
        return [api_key(options)]

    @classmethod
    def worker_cap(cls, options: OpenAIOptions) -> tuple[int | None, str]:
        if options.max_workers is None:
            return None, ""
        return options.max_workers, (
            f"engine.options.max_workers = {options.max_workers} "
            f"(the servers' combined parallel slots / rate limit)"
        )

    # -- worker side --------------------------------------------------------------------------
    def __init__(self, options: OpenAIOptions, worker_index: int = 0) -> None:
        super().__init__(options, worker_index)
        urls = options.urls
        self.base_url = urls[worker_index % len(urls)]
        self.session = _session(self.base_url, options)

    def describe(self) -> dict[str, str]:
        return {
            "base_url": self.base_url,
            "model": self.options.model,
            "auth": f"bearer from ${self.options.api_key_env}" if self.options.api_key_env
            else "none",
            "send_extra_sampling": str(self.options.send_extra_sampling).lower(),
            "fleet_size": str(len(self.options.urls)),
        }

    def payload(self, request: Request) -> dict[str, Any]:
        return chat_body(request, self.options, with_model=True)

    def generate(self, request: Request) -> Completion:
        started = time.perf_counter()
        data = self.session.request_json("POST", "/v1/chat/completions", json=self.payload(request))
        latency_ms = (time.perf_counter() - started) * 1000.0
        return parse_chat_completion(data, latency_ms, attempts=self.session.last_attempts)

    def close(self) -> None:
        self.session.close()


def chat_body(request: Request, options: Any, *, with_model: bool) -> dict[str, Any]:
    """The chat-completions body for one request (shared with the batch engines)."""
    p = request.params
    body: dict[str, Any] = {}
    if with_model:
        body["model"] = options.model
    body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
    body["temperature"] = p.temperature
    body["top_p"] = p.top_p
    body[getattr(options, "max_tokens_field", "max_tokens")] = p.max_tokens
    body["seed"] = p.seed
    body["n"] = 1
    if with_model:
        body["stream"] = False
    if p.stop:
        body["stop"] = list(p.stop)
    if getattr(options, "send_extra_sampling", False):
        body["top_k"] = p.top_k
        body["repeat_penalty"] = p.repeat_penalty
    return body


def parse_chat_completion(data: Any, latency_ms: float, *, attempts: int = 1) -> Completion:
    """Map one chat.completion object to a Completion, or raise EngineError."""
    if not isinstance(data, dict):
        raise EngineError("server answered with JSON that is not an object", kind="bad_response")
    if data.get("error"):
        err = data["error"]
        message = err.get("message", err) if isinstance(err, dict) else err
        raise EngineError(f"server error: {message}", kind="model_error")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise EngineError("answer has no choices", kind="bad_response")
    choice = choices[0]
    message = choice.get("message") or {}
    text = message.get("content") if isinstance(message, dict) else None
    reason = choice.get("finish_reason") or ""
    if text is None:
        if reason in ("stop", "length"):
            text = ""
        else:
            raise EngineError(
                f"answer has no message content (finish_reason: {reason or 'missing'})",
                kind="bad_response",
            )
    if not isinstance(text, str):
        raise EngineError("message content is not text", kind="bad_response")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    timings: dict[str, float] = {"attempts": float(attempts)}
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("cached_tokens"), (int, float)):
        timings["cached_prompt_tokens"] = float(details["cached_tokens"])
    server = data.get("timings")
    if isinstance(server, dict):
        for key, name in _SERVER_TIMINGS.items():
            if isinstance(server.get(key), (int, float)):
                timings[name] = float(server[key])
    return Completion(
        text=text,
        finish_reason=reason or "unknown",
        prompt_tokens=count_field(usage, "prompt_tokens"),
        completion_tokens=count_field(usage, "completion_tokens"),
        latency_ms=latency_ms,
        request_id=str(data.get("id") or ""),
        timings=timings,
    )
