"""Fireworks batch inference (docs.fireworks.ai/guides/batch-inference), as a BatchEngine.

    POST /v1/accounts/{acc}/datasets                         {datasetId, dataset{...}}
    POST /v1/accounts/{acc}/datasets/{in}:upload             multipart file=<input.jsonl>
    GET  /v1/accounts/{acc}/datasets/{in}                    until state READY
    POST /v1/accounts/{acc}/batchInferenceJobs?batchInferenceJobId={key}
                                                              {model, inputDatasetId, outputDatasetId, ...}
    GET  /v1/accounts/{acc}/batchInferenceJobs/{key}         state, jobProgress
    GET  /v1/accounts/{acc}/datasets/{out}:getDownloadEndpoint
                                                              {filenameToSignedUrls: {name: url}}
    GET  <signed url>                                         JSONL (no Authorization header sent)

Input line: {"custom_id", "body": {messages, max_tokens, temperature, top_p, top_k, seed,
stop?}} — every sampling parameter travels on every line, so units with different
temperatures or max_tokens share one job. The model is set on the job.

Ids are chosen by evalcli (job key → "<key>-in", "<key>-out", job id "<key>") and recorded
before each step, so a resumed run re-attaches; a create answered 409 (already exists,
e.g. after a crash between create and save) is treated as done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import httpx

from engines.base import EngineError, EngineLoadError, Request, Seconds, Url
from engines.batch import BatchEngine, BatchOptions, JobStatus, jsonl_records
from engines.http import HttpError, HttpSession, is_loopback
from engines.openai import api_key

_FINAL_OK = {"COMPLETED"}
_FINAL_BAD = {"FAILED", "EXPIRED", "CANCELLED", "DELETING"}


class FireworksBatchOptions(BatchOptions, kw_only=True):
    account_id: str
    api_key_env: str = "FIREWORKS_API_KEY"
    base_url: Url = "https://api.fireworks.ai"
    dataset_ready_timeout_s: Seconds = 900.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.account_id:
            raise ValueError("account_id must not be empty")
        if not self.api_key_env:
            raise ValueError("api_key_env must name the variable holding the Fireworks key")


def _state_word(value: Any) -> str:
    word = str(value or "").upper()
    return word[len("JOB_STATE_"):] if word.startswith("JOB_STATE_") else word


def _last(resource: str) -> str:
    return resource.rsplit("/", 1)[-1]


class FireworksBatchEngine(BatchEngine):
    name: ClassVar[str] = "fireworks_batch"
    Options = FireworksBatchOptions

    @classmethod
    def _session(cls, options: FireworksBatchOptions, **kw: Any) -> HttpSession:
        key = api_key(options)
        return HttpSession(options.base_url, options, headers={"Authorization": f"Bearer {key}"},
                           secrets=[key], **kw)

    @classmethod
    def preflight(
        cls, options: FireworksBatchOptions, *, workers: int = 1,
        longest_request: Request | None = None,
    ) -> list[str]:
        session = cls._session(options, max_retries=min(options.max_retries, 1),
                               timeout_s=min(options.timeout_s, 30.0))
        try:
            session.request_json(
                "GET", f"/v1/accounts/{options.account_id}/batchInferenceJobs",
                params={"pageSize": 1},
            )
        except HttpError as exc:
            if exc.status in (401, 403):
                raise EngineLoadError(
                    f"Fireworks refused the key in ${options.api_key_env} (HTTP {exc.status}) "
                    f"for account {options.account_id}"
                ) from None
            if exc.status == 404:
                raise EngineLoadError(
                    f'Fireworks account "{options.account_id}" not found (HTTP 404): check '
                    f"engine.options.account_id"
                ) from None
            raise EngineLoadError(f"Fireworks API is not reachable at {options.base_url} "
                                  f"({exc})") from None
        finally:
            session.close()
        return []

    def __init__(self, options: FireworksBatchOptions) -> None:
        super().__init__(options)
        self.session = self._session(options)
        self.storage: httpx.Client | None = None  # for signed URLs: no API headers, ever
        self.account = f"/v1/accounts/{options.account_id}"

    def describe(self) -> dict[str, str]:
        return {"model": self.options.model, "account_id": self.options.account_id,
                "base_url": self.options.base_url,
                "auth": f"bearer from ${self.options.api_key_env}"}

    def close(self) -> None:
        self.session.close()
        if self.storage is not None:
            self.storage.close()

    # -- hooks -------------------------------------------------------------------------------
    def line(self, request: Request) -> dict[str, Any]:
        p = request.params
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "top_k": p.top_k,
            "seed": p.seed,
            "n": 1,
        }
        if p.stop:
            body["stop"] = list(p.stop)
        return {"custom_id": request.unit_id, "body": body}

    def _create(self, path: str, **kw: Any) -> None:
        try:
            self.session.request_json("POST", path, **kw)
        except HttpError as exc:
            if exc.status != 409:  # 409: created before an interruption; attach to it
                raise

    def submit(self, job: dict[str, Any], data: bytes, save: Callable[[], None]) -> None:
        key = job["key"]
        job.setdefault("input_dataset", f"{key}-in")
        job.setdefault("output_dataset", f"{key}-out")
        in_id = job["input_dataset"]
        if not job.get("dataset_created"):
            self._create(f"{self.account}/datasets", json={
                "datasetId": in_id,
                "dataset": {"displayName": in_id, "userUploaded": {},
                            "exampleCount": str(data.count(b"\n"))},
            })
            job["dataset_created"] = True
            save()
        if not job.get("uploaded"):
            self.session.request_json(
                "POST", f"{self.account}/datasets/{in_id}:upload",
                files={"file": ("input.jsonl", data, "application/jsonl")},
            )
            job["uploaded"] = True
            save()
        self._wait_ready(in_id)
        if not job.get("job_id"):
            self._create(
                f"{self.account}/batchInferenceJobs",
                params={"batchInferenceJobId": key},
                json={
                    "displayName": key,
                    "model": self.options.model,
                    "inputDatasetId": f"accounts/{self.options.account_id}/datasets/{in_id}",
                    "outputDatasetId":
                        f"accounts/{self.options.account_id}/datasets/{job['output_dataset']}",
                },
            )
            job["job_id"] = key
            save()

    def _wait_ready(self, dataset_id: str) -> None:
        deadline = time.monotonic() + self.options.dataset_ready_timeout_s
        while True:
            info = self.session.request_json("GET", f"{self.account}/datasets/{dataset_id}")
            state = str(info.get("state", "")).upper()
            if state in ("READY", ""):
                return
            if time.monotonic() > deadline:
                raise EngineError(f"Fireworks dataset {dataset_id} not READY after "
                                  f"{self.options.dataset_ready_timeout_s:g} s (state {state})",
                                  retryable=True, kind="batch_timeout")
            self.sleep(min(5.0, max(self.options.poll_interval_s, 0.01)))

    def poll(self, job: dict[str, Any]) -> JobStatus:
        info = self.session.request_json("GET", f"{self.account}/batchInferenceJobs/{job['job_id']}")
        state = _state_word(info.get("state"))
        out = info.get("outputDatasetId")
        if out:
            job["output_dataset"] = _last(str(out))
        progress = info.get("jobProgress") or {}
        text = ""
        if progress:
            text = (f"{progress.get('successfullyProcessedRequests', 0)} ok, "
                    f"{progress.get('failedRequests', 0)} failed of "
                    f"{progress.get('totalInputRequests', '?')}")
        status = info.get("status") or {}
        failure = ""
        if state in _FINAL_BAD:
            failure = f"job {state}: {status.get('message') or 'no message'}"
        return JobStatus(state, done=state in _FINAL_OK | _FINAL_BAD, failure=failure,
                         progress=text)

    def output_lines(self, job: dict[str, Any]) -> Iterable[dict[str, Any]]:
        info = self.session.request_json(
            "GET", f"{self.account}/datasets/{job['output_dataset']}:getDownloadEndpoint"
        )
        urls = info.get("filenameToSignedUrls") or {}
        for name in sorted(urls):
            yield from jsonl_records(self._download(urls[name]))

    def _download(self, url: str) -> bytes:
        # Signed URLs point at storage, not the API: never send the API key there.
        if self.storage is None:
            self.storage = httpx.Client(timeout=self.options.timeout_s, follow_redirects=True,
                                        trust_env=not is_loopback(url))
        try:
            response = self.storage.get(url)
        except httpx.HTTPError as exc:
            raise EngineError(f"download of a batch output file failed ({type(exc).__name__})",
                              retryable=True, kind="connection") from None
        if response.status_code != 200:
            raise EngineError(f"download of a batch output file failed: HTTP "
                              f"{response.status_code}", retryable=True, kind="http_5xx")
        return response.content
