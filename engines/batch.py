"""Remote batch engines: submit every unit as one JSONL job, poll it, download, map back.

A batch engine does not serve one request at a time, so it is not an `Engine`; the
generate stage calls it once, in the supervisor process, with every unit still missing:

    engine = EngineClass(options)
    engine.run(requests, state, save_state, on_result, should_stop)
    engine.close()

      requests ─► jobs planned (≤ max_requests_per_job units each) ─► save_state
                  for each job: upload input ─► save_state ─► create job ─► save_state
                  poll every poll_interval_s (should_stop() → return; the job runs on remotely)
                  job finished ─► download outputs ─► on_result(custom_id, Completion | EngineError)
                                                    ─► job marked done ─► save_state

`state` is a JSON-able dict the caller persists (save_state) and hands back on resume: a job
already recorded there is re-attached to, never submitted again. Units of a recorded job that
are no longer in `requests` (already recorded) are not reported twice. A unit the finished
job has no output for is reported as EngineError(kind="batch_missing").

Batch outputs carry no per-request latency: Completion.latency_ms is -1 (unknown), and so is
any token count the output lacks.
"""

from __future__ import annotations

import gzip
import io
import json
import secrets
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from engines.base import Completion, Delay, EngineError, IntRange, Request, Seconds
from engines.http import HttpOptions
from engines.openai import api_key, parse_chat_completion
from engines.secrets import Scrubber, scrub_completion

UNKNOWN_LATENCY = -1.0

OnResult = Callable[[str, "Completion | EngineError"], None]


class BatchOptions(HttpOptions, kw_only=True):
    """Options shared by batch engines (engine-specific Options inherit these)."""

    model: str
    api_key_env: str = ""
    poll_interval_s: Delay = 30.0
    max_requests_per_job: IntRange(1) = 50_000
    timeout_s: Seconds = 120.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model:
            raise ValueError("model must not be empty")


class JobStatus:
    """What one poll found: the provider's state word, whether it is final, and why it failed."""

    def __init__(self, state: str, *, done: bool, failure: str = "", progress: str = ""):
        self.state, self.done, self.failure, self.progress = state, done, failure, progress


class BatchEngine:
    """Submit → poll → download, with the provider-specific steps left to subclasses."""

    name: ClassVar[str]

    class Options(BatchOptions, kw_only=True):
        pass

    @classmethod
    def preflight(
        cls, options: Any, *, workers: int = 1, longest_request: Request | None = None
    ) -> list[str]:
        return []

    @classmethod
    def secrets(cls, options: Any) -> list[str]:
        """The keys these options send (see Engine.secrets): results are scrubbed of them."""
        key = getattr(options, "api_key_env", "")
        if not key:
            return []
        return [api_key(options)]

    @classmethod
    def worker_cap(cls, options: Any) -> tuple[int | None, str]:
        return 1, f"{cls.name} submits whole jobs from the supervisor: no worker processes"

    @classmethod
    def tokenizer(cls, options: Any) -> Any | None:
        """None: no model tokenizer here (see Engine.tokenizer); a failed unit's prompt is
        counted with tiktoken or the estimate."""
        return None

    @classmethod
    def model_label(cls, options: Any) -> str:
        return options.model.rsplit("/", 1)[-1] or cls.name

    def __init__(self, options: Any) -> None:
        self.options = options
        self.sleep: Callable[[float], None] = time.sleep  # tests may replace it

    def describe(self) -> dict[str, str]:
        return {"model": self.options.model}

    def close(self) -> None:
        pass

    # -- provider hooks --------------------------------------------------------------------
    def line(self, request: Request) -> dict[str, Any]:
        """One JSONL input line for `request` (must carry its custom_id)."""
        raise NotImplementedError

    def submit(self, job: dict[str, Any], data: bytes, save: Callable[[], None]) -> None:
        """Upload `data` and create the remote job. Idempotent: skips steps `job` records as
        done, records each id in `job` and calls save() right after each step."""
        raise NotImplementedError

    def poll(self, job: dict[str, Any]) -> JobStatus:
        raise NotImplementedError

    def output_lines(self, job: dict[str, Any]) -> Iterable[dict[str, Any]]:
        """Every result and error line of the finished job."""
        raise NotImplementedError

    # -- the driver ------------------------------------------------------------------------
    def run(
        self,
        requests: list[Request],
        state: dict[str, Any],
        save_state: Callable[[dict[str, Any]], None],
        on_result: OnResult,
        should_stop: Callable[[], bool],
    ) -> None:
        pending = {r.unit_id: r for r in requests}
        scrubber = Scrubber(self.secrets(self.options))
        if scrubber:  # what the provider sends back never carries the key
            on_result = _scrubbing(on_result, scrubber)
        jobs: list[dict[str, Any]] = state.setdefault("jobs", [])
        state.setdefault("engine", self.name)
        prefix = state.setdefault("job_prefix", f"evalcli-{secrets.token_hex(4)}")

        def save() -> None:
            save_state(state)

        covered = {cid for job in jobs if job.get("status") != "done" for cid in job["custom_ids"]}
        new = [r for r in requests if r.unit_id not in covered]
        size = self.options.max_requests_per_job
        for start in range(0, len(new), size):
            chunk = new[start : start + size]
            jobs.append({"key": f"{prefix}-{len(jobs)}", "status": "new",
                         "custom_ids": [r.unit_id for r in chunk]})
        save()

        active = [job for job in jobs if job.get("status") != "done"]
        for job in list(active):
            if should_stop():
                return
            if job.get("status") == "new":
                lines = [self.line(pending[cid]) for cid in job["custom_ids"] if cid in pending]
                if not lines:  # everything it held was recorded before it was ever sent
                    job["status"] = "done"
                    save()
                    active.remove(job)
                    continue
                data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
                self.submit(job, data.encode("utf-8"), save)
                job["status"] = "submitted"
                save()

        while active:
            for job in list(active):
                status = self.poll(job)
                if status.state != job.get("remote_state") or status.progress != job.get(
                    "progress"
                ):
                    job["remote_state"], job["progress"] = status.state, status.progress
                    save()
                if status.done:
                    self._collect(job, status, pending, on_result)
                    job["status"] = "done"
                    save()
                    active.remove(job)
            if not active or should_stop():
                return
            self._wait(should_stop)

    def _wait(self, should_stop: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.options.poll_interval_s
        while not should_stop():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sleep(min(left, 1.0))

    def _collect(
        self,
        job: dict[str, Any],
        status: JobStatus,
        pending: dict[str, Request],
        on_result: OnResult,
    ) -> None:
        """Report every unit of a finished job. A completed job whose output cannot be
        downloaded raises (the job stays recorded as submitted, so a resume downloads again
        instead of paying for the work twice); a failed job's units are reported as errors."""
        mine = {cid for cid in job["custom_ids"] if cid in pending}
        fetch_error = ""
        try:
            lines = list(self.output_lines(job))
        except EngineError as exc:
            if not status.failure:
                raise
            lines, fetch_error = [], f"; no output to download ({exc})"
        reported: set[str] = set()
        for line in lines:
            cid = line.get("custom_id")
            if cid not in mine or cid in reported:
                continue
            reported.add(cid)
            on_result(cid, result_from_line(line))
        why = status.failure or f"the job ended in state {status.state}"
        for cid in job["custom_ids"]:
            if cid in mine and cid not in reported:
                on_result(cid, EngineError(
                    f"batch job {job.get('job_id') or job['key']}: no result for this unit "
                    f"({why}{fetch_error})",
                    retryable=True,
                    kind="batch_missing",
                ))
        for cid in mine:
            pending.pop(cid, None)


def _scrubbing(on_result: OnResult, scrubber: Scrubber) -> OnResult:
    def scrubbed(cid: str, result: Completion | EngineError) -> None:
        if isinstance(result, EngineError):
            result = EngineError(scrubber.scrub(str(result)), retryable=result.retryable,
                                 kind=result.kind)
        else:
            result = scrub_completion(result, scrubber)
        on_result(cid, result)
    return scrubbed


def result_from_line(line: dict[str, Any]) -> Completion | EngineError:
    """One output line ({custom_id, response | error}) → Completion or EngineError.

    Accepts the OpenAI Batch shape ({"response": {"status_code", "body"}, "error"}) and the
    Fireworks shape ({"response": <chat.completion>} or the completion at top level)."""
    error = line.get("error")
    if error:
        message = error.get("message", error) if isinstance(error, dict) else error
        return EngineError(f"batch error: {message}", kind="batch_error")
    body = line.get("response", line)
    if isinstance(body, dict) and "body" in body and "choices" not in body:
        code = body.get("status_code", 200)
        body = body["body"]
        if isinstance(code, int) and code >= 400:
            detail = body.get("error", body) if isinstance(body, dict) else body
            if isinstance(detail, dict):
                detail = detail.get("message", detail)
            return EngineError(f"batch request failed with HTTP {code}: {detail}",
                               kind="batch_error")
    try:
        completion = parse_chat_completion(body, UNKNOWN_LATENCY)
    except EngineError as exc:
        return exc
    return completion


def jsonl_records(data: bytes) -> Iterator[dict[str, Any]]:
    """JSON objects from a downloaded output: plain, gzip or zip-wrapped JSONL."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if name.endswith(".jsonl"):
                    yield from jsonl_records(archive.read(name))
        return
    for raw in data.decode("utf-8", "replace").splitlines():
        raw = raw.strip()
        if not raw:
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record
