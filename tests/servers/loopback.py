"""Loopback servers (127.0.0.1, ephemeral port) that speak the documented wire formats.

    FakeOllama     GET /api/version, GET /api/tags, POST /api/show, POST /api/chat
    FakeOpenAI     GET /v1/models, POST /v1/chat/completions (+ Batch: /v1/files, /v1/batches)
    FakeFireworks  datasets (create, :upload, get, :getDownloadEndpoint), batchInferenceJobs,
                   signed download URLs

Every server records each request (method, path, query, headers, JSON body) and can be
told to misbehave for the next N matching requests:

    server.fault("status", status=500)                 an error status with {"error": ...}
    server.fault("status", status=429, retry_after="1")  with a Retry-After header
    server.fault("hang", seconds=1.0)                  answer only after `seconds`
    server.fault("drop")                               close the connection, no answer
    server.fault("drop_mid")                           headers + half the body, then close
    server.fault("malformed")                          200 with a body that is not JSON

Used by tests/servers/* and benchmarks/bench_http_engines.py.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Recorded:
    def __init__(self, method: str, path: str, query: dict[str, list[str]],
                 headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.query, self.headers, self.body = (
            method, path, query, headers, body)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        rec = Recorded(self.command, parts.path, parse_qs(parts.query),
                       {k.lower(): v for k, v in self.headers.items()}, body)
        with app.lock:
            app.requests.append(rec)
            fault = app._take_fault(rec.path)
        if fault is not None:
            kind = fault["kind"]
            if kind == "drop":
                self.close_connection = True
                return
            if kind == "hang":
                app.released.wait(fault.get("seconds", 1.0))  # stop() ends every hang
            if kind == "status":
                headers = {}
                if fault.get("retry_after") is not None:
                    headers["Retry-After"] = str(fault["retry_after"])
                message = fault.get("message", f"injected HTTP {fault['status']}")
                self._send(fault["status"], {"error": message}, headers)
                return
            if kind == "malformed":
                self._send_raw(200, b'{"this is": not json', "application/json")
                return
            if kind == "drop_mid":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.write(b'{"partial": "bo')
                self.wfile.flush()
                self.close_connection = True
                return
        status, payload, headers = app.handle(rec)
        if isinstance(payload, bytes):
            self._send_raw(status, payload, headers.pop("Content-Type", "application/octet-stream"),
                           headers)
        else:
            self._send(status, payload, headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(self, status: int, data: bytes, ctype: str,
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: LoopbackServer


class LoopbackServer:
    """Base: a ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread; `handle` is the API."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.faults: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.app = self
        self.released = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def fault(self, kind: str, *, times: int = 1, path: str = "", **kw: Any) -> None:
        """Misbehave (see module docstring) for the next `times` requests whose path starts
        with `path`."""
        with self.lock:
            self.faults.append({"kind": kind, "times": times, "path": path, **kw})

    def _take_fault(self, path: str) -> dict[str, Any] | None:
        for fault in self.faults:
            if path.startswith(fault["path"]):
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def calls(self, path: str, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests
                if r.path == path and (method is None or r.method == method)]

    def handle(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        return 404, {"error": f"no route {rec.method} {rec.path}"}, {}


def _answer_for(messages: list[dict[str, Any]]) -> str:
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    return f"echo: {users[-1][:40] if users else ''}"


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(m.get("content", "")) for m in messages) // 4 + 1


class FakeOllama(LoopbackServer):
    def __init__(self, models: tuple[str, ...] = ("llama3.1:8b",), context_length: int = 8192,
                 capabilities: tuple[str, ...] = ("completion",)) -> None:
        super().__init__()
        self.models = list(models)
        self.context_length = context_length
        self.capabilities = list(capabilities)
        self.chat_override: dict[str, Any] | None = None  # replaces the /api/chat answer

    def handle(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        if rec.path == "/api/version" and rec.method == "GET":
            return 200, {"version": "0.12.3"}, {}
        if rec.path == "/api/tags" and rec.method == "GET":
            return 200, {"models": [
                {"name": m, "model": m, "size": 123, "digest": f"sha256:{i:064x}",
                 "details": {"family": "llama", "parameter_size": "8.0B",
                             "quantization_level": "Q4_K_M"}}
                for i, m in enumerate(self.models)]}, {}
        if rec.path == "/api/show" and rec.method == "POST":
            name = rec.json.get("model", "")
            if name not in self.models and f"{name}:latest" not in self.models:
                return 404, {"error": f"model '{name}' not found"}, {}
            return 200, {"model_info": {"general.architecture": "llama",
                                        "llama.context_length": self.context_length},
                         "capabilities": self.capabilities}, {}
        if rec.path == "/api/chat" and rec.method == "POST":
            req = rec.json
            if req.get("model") not in self.models:
                return 404, {"error": f"model '{req.get('model')}' not found, try pulling it first"}, {}
            if self.chat_override is not None:
                return 200, self.chat_override, {}
            msgs = req.get("messages", [])
            return 200, {
                "model": req["model"], "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": _answer_for(msgs)},
                "done": True, "done_reason": "stop",
                "total_duration": 12_000_000, "load_duration": 1_000_000,
                "prompt_eval_count": _prompt_tokens(msgs), "prompt_eval_duration": 4_000_000,
                "eval_count": 3, "eval_duration": 6_000_000,
            }, {}
        return super().handle(rec)


class FakeOpenAI(LoopbackServer):
    """Chat completions plus the Batch API (files + batches) in one fake."""

    def __init__(self, models: tuple[str, ...] = ("demo",), api_key: str = "",
                 name: str = "a", list_models: bool = True, batch_polls: int = 1) -> None:
        super().__init__()
        self.models = list(models)
        self.api_key = api_key
        self.name = name
        self.list_models = list_models
        self.ids = itertools.count(1)
        self.chat_override: dict[str, Any] | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls = batch_polls  # polls a batch stays in_progress

    def _authorized(self, rec: Recorded) -> bool:
        return not self.api_key or rec.headers.get("authorization") == f"Bearer {self.api_key}"

    def handle(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        if not self._authorized(rec):
            return 401, {"error": {"message": "Incorrect API key provided",
                                   "type": "invalid_request_error"}}, {}
        if rec.path == "/v1/models" and rec.method == "GET":
            if not self.list_models:
                return 404, {"error": "not found"}, {}
            return 200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "me"} for m in self.models]}, {}
        if rec.path == "/v1/chat/completions" and rec.method == "POST":
            return 200, self.completion(rec.json), {}
        if rec.path.startswith(("/v1/files", "/v1/batches")):
            return self._batch_api(rec)
        return super().handle(rec)

    def completion(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.chat_override is not None:
            return self.chat_override
        msgs = req.get("messages", [])
        return {
            "id": f"chatcmpl-{self.name}-{next(self.ids)}", "object": "chat.completion",
            "model": req.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": _answer_for(msgs)}}],
            "usage": {"prompt_tokens": _prompt_tokens(msgs), "completion_tokens": 3,
                      "total_tokens": _prompt_tokens(msgs) + 3},
        }

    def _batch_api(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        if rec.path == "/v1/files" and rec.method == "POST":
            fields = multipart_fields(rec)
            file_id = f"file-{next(self.ids)}"
            self.files[file_id] = fields["file"]
            return 200, {"id": file_id, "object": "file", "purpose": fields["purpose"].decode()}, {}
        if rec.path.startswith("/v1/files/") and rec.path.endswith("/content"):
            file_id = rec.path.split("/")[3]
            if file_id not in self.files:
                return 404, {"error": {"message": "no such file"}}, {}
            return 200, self.files[file_id], {"Content-Type": "application/jsonl"}
        if rec.path == "/v1/batches" and rec.method == "POST":
            req = rec.json
            batch_id = f"batch_{next(self.ids)}"
            self.batches[batch_id] = {"id": batch_id, "status": "validating",
                                      "input_file_id": req["input_file_id"],
                                      "metadata": req.get("metadata") or {}, "polls": 0}
            return 200, self._public(self.batches[batch_id]), {}
        if rec.path == "/v1/batches" and rec.method == "GET":
            return 200, {"object": "list",
                         "data": [self._public(b) for b in self.batches.values()]}, {}
        if rec.path.startswith("/v1/batches/") and rec.method == "GET":
            batch = self.batches.get(rec.path.rsplit("/", 1)[-1])
            if batch is None:
                return 404, {"error": {"message": "no such batch"}}, {}
            batch["polls"] += 1
            if batch["polls"] > self.batch_polls and batch["status"] != "completed":
                self._finish(batch)
            elif batch["status"] == "validating":
                batch["status"] = "in_progress"
            return 200, self._public(batch), {}
        return 404, {"error": "no route"}, {}

    def _finish(self, batch: dict[str, Any]) -> None:
        out, err = [], []
        for raw in self.files[batch["input_file_id"]].decode().splitlines():
            line = json.loads(raw)
            if "FAIL" in json.dumps(line["body"]["messages"]):
                err.append({"id": "r", "custom_id": line["custom_id"], "response": None,
                            "error": {"code": "bad", "message": "injected per-request error"}})
                continue
            body = self.completion(line["body"])
            out.append({"id": f"batch_req_{next(self.ids)}", "custom_id": line["custom_id"],
                        "response": {"status_code": 200, "request_id": "req", "body": body},
                        "error": None})
        out.reverse()  # output order is not input order
        batch["output_file_id"] = f"file-{next(self.ids)}"
        self.files[batch["output_file_id"]] = "".join(json.dumps(x) + "\n" for x in out).encode()
        if err:
            batch["error_file_id"] = f"file-{next(self.ids)}"
            self.files[batch["error_file_id"]] = "".join(json.dumps(x) + "\n" for x in err).encode()
        batch["status"] = "completed"

    @staticmethod
    def _public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k != "polls"} | {"object": "batch"}


class FakeFireworks(LoopbackServer):
    def __init__(self, account: str = "acc", api_key: str = "fw-secret",
                 job_polls: int = 1, final_state: str = "JOB_STATE_COMPLETED") -> None:
        super().__init__()
        self.account = account
        self.api_key = api_key
        self.datasets: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_polls = job_polls
        self.final_state = final_state
        self.drop_results: set[str] = set()  # custom_ids left out of the output

    def handle(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        if rec.path.startswith("/signed/"):
            if "authorization" in rec.headers:
                return 400, {"error": "signed URLs take no Authorization header"}, {}
            _, _, ds, name = rec.path.split("/", 3)
            return 200, self.datasets[ds]["files"][name], {"Content-Type": "application/jsonl"}
        if rec.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": "unauthorized"}, {}
        prefix = f"/v1/accounts/{self.account}/"
        if not rec.path.startswith(prefix):
            return 404, {"error": "account not found"}, {}
        rest = rec.path[len(prefix):]
        if rest == "datasets" and rec.method == "POST":
            ds_id = rec.json["datasetId"]
            if ds_id in self.datasets:
                return 409, {"error": "dataset already exists"}, {}
            self.datasets[ds_id] = {"state": "UPLOADING", "files": {}, "polls": 0}
            return 200, {"name": f"accounts/{self.account}/datasets/{ds_id}",
                         "state": "UPLOADING"}, {}
        if rest.startswith("datasets/") and rest.endswith(":upload") and rec.method == "POST":
            ds_id = rest[len("datasets/"):-len(":upload")]
            self.datasets[ds_id]["files"]["input.jsonl"] = multipart_fields(rec)["file"]
            return 200, {"id": ds_id, "object": "file", "bytes": 1}, {}
        if rest.startswith("datasets/") and rest.endswith(":getDownloadEndpoint"):
            ds_id = rest[len("datasets/"):-len(":getDownloadEndpoint")]
            if ds_id not in self.datasets:
                return 404, {"error": "dataset not found"}, {}
            return 200, {"filenameToSignedUrls": {
                name: f"{self.url}/signed/{ds_id}/{name}"
                for name in self.datasets[ds_id]["files"]}}, {}
        if rest.startswith("datasets/") and rec.method == "GET":
            ds = self.datasets.get(rest[len("datasets/"):])
            if ds is None:
                return 404, {"error": "dataset not found"}, {}
            ds["polls"] += 1
            if ds["files"] and ds["polls"] > 1:
                ds["state"] = "READY"
            return 200, {"state": ds["state"]}, {}
        if rest == "batchInferenceJobs" and rec.method == "GET":
            return 200, {"batchInferenceJobs": []}, {}
        if rest == "batchInferenceJobs" and rec.method == "POST":
            job_id = rec.query.get("batchInferenceJobId", [f"job{len(self.jobs)}"])[0]
            if job_id in self.jobs:
                return 409, {"error": "job already exists"}, {}
            body = rec.json
            self.jobs[job_id] = {"body": body, "polls": 0, "state": "JOB_STATE_VALIDATING"}
            return 200, self._public(job_id), {}
        if rest.startswith("batchInferenceJobs/") and rec.method == "GET":
            job_id = rest.split("/", 1)[1]
            job = self.jobs.get(job_id)
            if job is None:
                return 404, {"error": "job not found"}, {}
            job["polls"] += 1
            if job["polls"] > self.job_polls and job["state"] != self.final_state:
                self._finish(job)
            elif job["polls"] <= self.job_polls:
                job["state"] = "JOB_STATE_RUNNING"
            return 200, self._public(job_id), {}
        return super().handle(rec)

    def _public(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        return {"name": f"accounts/{self.account}/batchInferenceJobs/{job_id}",
                "state": job["state"], "model": job["body"]["model"],
                "inputDatasetId": job["body"]["inputDatasetId"],
                "outputDatasetId": job["body"]["outputDatasetId"],
                "status": {"code": "OK", "message": job.get("message", "")},
                "jobProgress": {"totalInputRequests": 2, "successfullyProcessedRequests": 1,
                                "failedRequests": 0}}

    def _finish(self, job: dict[str, Any]) -> None:
        job["state"] = self.final_state
        if self.final_state != "JOB_STATE_COMPLETED":
            job["message"] = "injected failure"
            return
        in_id = job["body"]["inputDatasetId"].rsplit("/", 1)[-1]
        out_id = job["body"]["outputDatasetId"].rsplit("/", 1)[-1]
        results, errors = [], []
        for raw in self.datasets[in_id]["files"]["input.jsonl"].decode().splitlines():
            line = json.loads(raw)
            cid = line["custom_id"]
            if cid in self.drop_results:
                continue
            if "FAIL" in json.dumps(line["body"]["messages"]):
                errors.append({"custom_id": cid, "error": {"message": "injected row error"}})
                continue
            msgs = line["body"]["messages"]
            results.append({"custom_id": cid, "response": {
                "id": f"fw-{cid}", "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": _answer_for(msgs)}}],
                "usage": {"prompt_tokens": _prompt_tokens(msgs), "completion_tokens": 3}}})
        results.reverse()
        self.datasets[out_id] = {"state": "READY", "polls": 0, "files": {
            "BIJOutputSet.jsonl": "".join(json.dumps(x) + "\n" for x in results).encode(),
            "error-data.jsonl": "".join(json.dumps(x) + "\n" for x in errors).encode()}}


def multipart_fields(rec: Recorded) -> dict[str, bytes]:
    """Form fields of a multipart/form-data request body, by field name."""
    head = f"Content-Type: {rec.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(head + rec.body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = part.get_payload(decode=True)
    return fields
