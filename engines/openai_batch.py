"""OpenAI Batch API (and compatible providers), as a BatchEngine.

    POST /v1/files                     multipart purpose=batch, file=<input.jsonl> → {id}
    GET  /v1/batches?limit=100         (resume only: find a batch created before a crash)
    POST /v1/batches                   {input_file_id, endpoint, completion_window, metadata}
    GET  /v1/batches/{id}              status, request_counts, output_file_id, error_file_id
    GET  /v1/files/{id}/content        output and error JSONL

Input line: {"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {model,
messages, temperature, top_p, max_tokens, seed, n, stop?}} (top_k/repeat_penalty only with
send_extra_sampling). OpenAI picks the batch id, so evalcli tags each batch with
metadata {"evalcli_job": <key>} and, when resuming a job whose id was never recorded,
looks for that tag before creating a second batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

from engines.base import EngineLoadError, Request, Url
from engines.batch import BatchEngine, BatchOptions, JobStatus, jsonl_records
from engines.http import HttpError, HttpSession
from engines.openai import api_key, chat_body, normalize_base_url

_FINAL_OK = {"completed"}
_FINAL_BAD = {"failed", "expired", "cancelled"}


class OpenAIBatchOptions(BatchOptions, kw_only=True):
    api_key_env: str = "OPENAI_API_KEY"
    base_url: Url = "https://api.openai.com"
    completion_window: str = "24h"
    send_extra_sampling: bool = False
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"


class OpenAIBatchEngine(BatchEngine):
    name: ClassVar[str] = "openai_batch"
    Options = OpenAIBatchOptions

    @classmethod
    def _session(cls, options: OpenAIBatchOptions, **kw: Any) -> HttpSession:
        key = api_key(options)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return HttpSession(normalize_base_url(options.base_url), options, headers=headers,
                           secrets=[key], **kw)

    @classmethod
    def preflight(
        cls, options: OpenAIBatchOptions, *, workers: int = 1,
        longest_request: Request | None = None,
    ) -> list[str]:
        session = cls._session(options, max_retries=min(options.max_retries, 1),
                               timeout_s=min(options.timeout_s, 30.0))
        url = normalize_base_url(options.base_url)
        try:
            session.request_json("GET", "/v1/batches", params={"limit": 1})
        except HttpError as exc:
            if exc.status in (401, 403):
                raise EngineLoadError(
                    f"{url} refused the key in ${options.api_key_env} (HTTP {exc.status})"
                ) from None
            raise EngineLoadError(f"batch API is not reachable at {url} ({exc})") from None
        finally:
            session.close()
        return []

    def __init__(self, options: OpenAIBatchOptions) -> None:
        super().__init__(options)
        self.session = self._session(options)

    def describe(self) -> dict[str, str]:
        return {"model": self.options.model,
                "base_url": normalize_base_url(self.options.base_url),
                "auth": f"bearer from ${self.options.api_key_env}" if self.options.api_key_env
                else "none",
                "completion_window": self.options.completion_window}

    def close(self) -> None:
        self.session.close()

    def line(self, request: Request) -> dict[str, Any]:
        return {"custom_id": request.unit_id, "method": "POST", "url": "/v1/chat/completions",
                "body": chat_body(request, self.options, with_model=True)}

    def submit(self, job: dict[str, Any], data: bytes, save: Callable[[], None]) -> None:
        if not job.get("input_file_id"):
            uploaded = self.session.request_json(
                "POST", "/v1/files", data={"purpose": "batch"},
                files={"file": (f"{job['key']}.jsonl", data, "application/jsonl")},
            )
            job["input_file_id"] = uploaded["id"]
            save()
        if job.get("job_id"):
            return
        if job.get("create_sent"):  # a create may have reached the server before a crash
            found = self._find(job["key"])
            if found:
                job["job_id"] = found
                save()
                return
        job["create_sent"] = True
        save()
        created = self.session.request_json("POST", "/v1/batches", json={
            "input_file_id": job["input_file_id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": self.options.completion_window,
            "metadata": {"evalcli_job": job["key"]},
        })
        job["job_id"] = created["id"]
        save()

    def _find(self, key: str) -> str:
        listing = self.session.request_json("GET", "/v1/batches", params={"limit": 100})
        for batch in listing.get("data") or []:
            if (batch.get("metadata") or {}).get("evalcli_job") == key:
                return str(batch["id"])
        return ""

    def poll(self, job: dict[str, Any]) -> JobStatus:
        info = self.session.request_json("GET", f"/v1/batches/{job['job_id']}")
        state = str(info.get("status", "")).lower()
        job["output_file_id"] = info.get("output_file_id") or ""
        job["error_file_id"] = info.get("error_file_id") or ""
        counts = info.get("request_counts") or {}
        progress = (f"{counts.get('completed', 0)} ok, {counts.get('failed', 0)} failed of "
                    f"{counts.get('total', '?')}") if counts else ""
        failure = ""
        if state in _FINAL_BAD:
            errors = (info.get("errors") or {}).get("data") or []
            detail = "; ".join(str(e.get("message", e)) for e in errors[:3]) or "no message"
            failure = f"batch {state}: {detail}"
        return JobStatus(state, done=state in _FINAL_OK | _FINAL_BAD, failure=failure,
                         progress=progress)

    def output_lines(self, job: dict[str, Any]) -> Iterable[dict[str, Any]]:
        for key in ("output_file_id", "error_file_id"):
            if job.get(key):
                response = self.session.request("GET", f"/v1/files/{job[key]}/content")
                yield from jsonl_records(response.content)
