"""HTTP mechanics shared by the HTTP engines: one keep-alive client, bounded retries.

    engine.generate ─► HttpSession.request_json(method, path, json=...)
                          │  attempt 1 ──► 200 + JSON ─────────────────────► dict
                          │     ├─ connection refused / timeout / dropped ─┐
                          │     ├─ 5xx / 429 (Retry-After honoured) ───────┤ sleep backoff·2^n·jitter
                          │     └─ 200 but malformed JSON ─────────────────┘ then try again
                          │  4xx other than 429 ─► EngineError at once (not retried)
                          └─ last try failed ─► EngineError(reason, retryable=True, kind=...)

`kind` values on EngineError (recorded on the unit): "connection", "timeout", "http_5xx",
"rate_limited", "bad_response", "http_4xx". Transient kinds are raised with retryable=True
so the supervisor may try the unit again later; a 4xx is the request's own fault.

Secrets (API keys) are passed in `secrets` and scrubbed (engines/secrets.py: the key and any
run of 8 or more of its characters) from every text a server sends back and every message
this module builds - before anything is shortened, so a key cut in half by the 300-character
limit is still found - and a server that echoes a header back cannot leak it. A key
never sits in the profile: every HTTP engine's options refuse, without echoing the value,
an `api_key_env` that looks like a key instead of a variable's name, and a `base_url` (or
`base_urls` entry) with credentials (`user:key@`) or a query string (`?api_key=`).
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from engines.base import ConfigStruct, Delay, EngineError, IntRange, Seconds
from engines.secrets import Scrubber

# Never sleep longer than this for one Retry-After, whatever the server asks.
RETRY_AFTER_CAP_S = 120.0


class HttpOptions(ConfigStruct, kw_only=True):
    """Options every HTTP engine shares (engine Options structs inherit these)."""

    # read timeout for one request (local models can be slow); at most half of
    # run.unit_timeout_s (600 s), so a slow request is retried before the unit times out
    timeout_s: Seconds = 300.0
    connect_timeout_s: Seconds = 5.0
    max_retries: IntRange(0, 100) = 3  # retries after the first try (max_retries + 1 tries)
    backoff_s: Delay = 1.0  # first backoff; doubles per try, with jitter
    backoff_max_s: Delay = 30.0

    def __post_init__(self) -> None:
        check_api_key_env(getattr(self, "api_key_env", ""))
        for field in ("base_url", "base_urls"):
            value = getattr(self, field, "")
            for url in [value] if isinstance(value, str) else value:
                check_url_has_no_credentials(url, field)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_KEY_PREFIXES = ("sk-", "sk_", "gsk_", "fw_", "xai-", "AIza", "ghp_", "github_pat_", "Bearer")


def looks_like_key(value: str) -> bool:
    """True for a value that is an API key rather than an environment variable's name."""
    if value.startswith(_KEY_PREFIXES) or not _ENV_NAME.fullmatch(value):
        return True
    mixed = (any(c.islower() for c in value) and any(c.isupper() for c in value)
             and any(c.isdigit() for c in value))
    return len(value) >= 24 and mixed  # names are words (OPENAI_API_KEY), keys are noise


def check_api_key_env(value: str) -> None:
    """Refuse a key pasted where a variable's name belongs; the message never shows it."""
    if value and looks_like_key(value):
        raise ValueError(
            "api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
            "and this value looks like a key itself (not shown) - put the key in an "
            "environment variable and write that variable's name here")


def check_url_has_no_credentials(url: str, field: str = "base_url") -> None:
    """Refuse a URL that carries credentials or a query string; the message never shows it."""
    if not url:
        return
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ValueError(f"{field} is not a valid URL (not shown, in case it holds a key)"
                         ) from None
    if parsed.userinfo or parsed.query or parsed.fragment or "@" in url:
        raise ValueError(
            f"{field} must not carry credentials or a query string (user:key@host, "
            "?api_key=...; the value is not shown) - give the server's address alone and "
            "name the environment variable that holds the key in api_key_env")


class HttpError(EngineError):
    """An EngineError that also carries the HTTP status (0 when no answer came back)."""

    def __init__(self, message: str, *, retryable: bool, kind: str, status: int = 0):
        super().__init__(message, retryable=retryable, kind=kind)
        self.status = status

    def __reduce__(self):  # keep kind/retryable/status across pickling (pipes, pools)
        return (_rebuild_http_error, (str(self), self.retryable, self.kind, self.status))


def _rebuild_http_error(message: str, retryable: bool, kind: str, status: int) -> HttpError:
    return HttpError(message, retryable=retryable, kind=kind, status=status)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_detail(body: bytes | str, scrub: Callable[[str], str] = str) -> str:
    """The server's own error message from a body ({"error": "..."} or {"error": {"message"}}),
    scrubbed by `scrub` before it is shortened."""
    text = scrub(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    try:
        data = json.loads(text)
    except ValueError:
        return _short(text)
    if isinstance(data, dict):
        err = data.get("error", data.get("message", data.get("detail")))
        if isinstance(err, dict):
            err = err.get("message") or err
        if err is not None:
            return _short(str(err))
    return _short(text)


def is_loopback(url: str) -> bool:
    """True for a URL on this machine (127.0.0.1, localhost, ::1)."""
    host = httpx.URL(url).host
    return host in ("127.0.0.1", "localhost", "::1", "0.0.0.0") or host.startswith("127.")


class HttpSession:
    """One httpx.Client (keep-alive) against one base URL, with the retry policy above."""

    def __init__(
        self,
        base_url: str,
        options: HttpOptions,
        *,
        headers: dict[str, str] | None = None,
        secrets: Iterable[str] = (),
        max_retries: int | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options
        self.max_retries = options.max_retries if max_retries is None else max_retries
        read = options.timeout_s if timeout_s is None else timeout_s
        self.scrubber = Scrubber(secrets)
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers or {},
            timeout=httpx.Timeout(read, connect=min(options.connect_timeout_s, read)),
            follow_redirects=False,
            # a proxy from the environment must never swallow a local server's traffic
            trust_env=not is_loopback(self.base_url),
        )
        self.sleep: Callable[[float], None] = time.sleep  # tests may replace it
        self.last_attempts = 0

    # -- helpers ---------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        return self.scrubber.scrub(text)

    def _fail(self, message: str, *, retryable: bool, kind: str, status: int = 0) -> HttpError:
        return HttpError(self.scrub(message), retryable=retryable, kind=kind, status=status)

    def _backoff(self, attempt: int) -> float:
        base = min(self.options.backoff_max_s, self.options.backoff_s * (2**attempt))
        return base * (0.5 + random.random() / 2)

    # -- the one request loop ----------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; return a 2xx response (body read). Raises EngineError."""
        return self._send(method, path, want_json=False, **kwargs)[0]

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like request(), but the 2xx body must be JSON; malformed JSON is retried too."""
        return self._send(method, path, want_json=True, **kwargs)[1]

    def _send(
        self, method: str, path: str, *, want_json: bool, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        what = f"{method} {url}"
        last: HttpError | None = None
        for attempt in range(self.max_retries + 1):
            self.last_attempts = attempt + 1
            wait: float | None = None
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                kind = "connection" if isinstance(exc, httpx.ConnectTimeout) else "timeout"
                reason = (
                    f"could not connect within {self.options.connect_timeout_s:g} s"
                    if kind == "connection"
                    else f"no answer within {self.client.timeout.read:g} s"
                )
                last = self._fail(f"{what}: {reason}", retryable=True, kind=kind)
            except httpx.ConnectError as exc:
                last = self._fail(
                    f"{what}: connection failed ({_short(self.scrub(str(exc)), 120)})",
                    retryable=True,
                    kind="connection",
                )
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                last = self._fail(
                    f"{what}: connection dropped ({_short(self.scrub(str(exc)), 120)})",
                    retryable=True,
                    kind="connection",
                )
            else:
                status = response.status_code
                if 200 <= status < 300:
                    if not want_json:
                        return response, None
                    try:
                        return response, response.json()
                    except ValueError:
                        last = self._fail(
                            f"{what}: malformed JSON in the answer "
                            f"({_short(self.scrub(response.text), 120)!r})",
                            retryable=True,
                            kind="bad_response",
                        )
                else:
                    detail = error_detail(response.content, self.scrub)
                    if status != 429 and status < 500:
                        raise self._fail(
                            f"{what}: HTTP {status}: {detail}",
                            retryable=False,
                            kind="http_4xx",
                            status=status,
                        )
                    kind = "rate_limited" if status == 429 else "http_5xx"
                    last = self._fail(
                        f"{what}: HTTP {status}: {detail}", retryable=True, kind=kind, status=status
                    )
                    wait = retry_after_seconds(response.headers.get("retry-after"))
                    if wait is not None:
                        wait = min(wait, RETRY_AFTER_CAP_S)
            if attempt < self.max_retries:
                self.sleep(self._backoff(attempt) if wait is None else wait)
        assert last is not None
        tries = self.max_retries + 1
        raise self._fail(
            f"{last} (gave up after {tries} {'try' if tries == 1 else 'tries'})",
            retryable=last.retryable,
            kind=last.kind,
            status=last.status,
        )

    def close(self) -> None:
        self.client.close()


UNKNOWN = -1  # a token count the server did not report: recorded as unknown, never as 0


def count_field(data: dict, key: str) -> int:
    """An integer count from a JSON response, or UNKNOWN when missing or not a number."""
    value = data.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else UNKNOWN
