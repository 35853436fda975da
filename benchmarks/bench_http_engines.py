"""Per-unit overhead of the HTTP engines, and throughput with 1, 2, 4 engine instances.

Against zero-latency loopback servers (tests/servers/loopback.py), so what is measured is
evalcli's own cost per unit: building the body, httpx with keep-alive, JSON both ways, and
mapping the answer — plus the fake server's own handling, which is the same for every row.
A "raw httpx" row (one keep-alive client posting a prebuilt body) is the baseline, so the
ratio engine/raw is what matters, not absolute times.

    python benchmarks/bench_http_engines.py [--units 2000]

Concurrency uses threads (one engine instance per thread, as one per worker process would):
the server is a ThreadingHTTPServer in this same process, so numbers above 1 instance show
contention on one interpreter, not what N spawned workers would reach. Not a test.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "servers")]

import httpx  # noqa: E402
import msgspec  # noqa: E402
from loopback import FakeOllama, FakeOpenAI  # noqa: E402

from engines.base import ChatMessage, Request, SamplingParams  # noqa: E402
from engines.ollama import OllamaEngine, OllamaOptions  # noqa: E402
from engines.openai import OpenAIEngine, OpenAIOptions  # noqa: E402

SYSTEM = "You are a careful assistant. Answer with a short phrase. " * 8
REQUEST = Request(
    unit_id="sample|q1|control|0.0|0|open",
    messages=[ChatMessage("system", SYSTEM),
              ChatMessage("user", "Passage: ... (about 600 characters of text) ... " * 6)],
    params=SamplingParams(temperature=0.0, top_p=1.0, top_k=40, max_tokens=48, seed=1),
)


def make_engine(kind: str, url: str, index: int = 0):
    if kind == "ollama":
        return OllamaEngine(msgspec.convert({"model": "llama3.1:8b", "base_url": url},
                                            OllamaOptions), index)
    return OpenAIEngine(msgspec.convert({"model": "demo", "base_url": url,
                                         "send_extra_sampling": True}, OpenAIOptions), index)


def raw_loop(url: str, path: str, body: dict, n: int) -> float:
    with httpx.Client(base_url=url) as client:
        started = time.perf_counter()
        for _ in range(n):
            client.post(path, json=body).json()
        return time.perf_counter() - started


def engine_loop(kind: str, url: str, n: int, instances: int) -> float:
    engines = [make_engine(kind, url, i) for i in range(instances)]
    per = n // instances
    barrier = threading.Barrier(instances + 1)

    def work(engine) -> None:
        barrier.wait()
        for _ in range(per):
            engine.generate(REQUEST)

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for e in engines:
        e.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    n = parser.parse_args().units
    rows = []
    for kind, server_cls, path in (("ollama", FakeOllama, "/api/chat"),
                                   ("openai", FakeOpenAI, "/v1/chat/completions")):
        with server_cls() as server:
            engine = make_engine(kind, server.url)
            body = engine.payload(REQUEST)
            engine.generate(REQUEST)  # warm up the connection
            engine.close()
            raw = raw_loop(server.url, path, body, n)
            rows.append((kind, "raw httpx loop", 1, n / raw, raw / n * 1e3, 1.0))
            for instances in (1, 2, 4):
                t = engine_loop(kind, server.url, n, instances)
                done = (n // instances) * instances
                rows.append((kind, "engine.generate", instances, done / t, t / done * 1e3,
                             (t / done) / (raw / n)))
    print(f"{'engine':8} {'loop':18} {'inst':>4} {'units/s':>9} {'ms/unit':>8} {'vs raw':>7}")
    for kind, what, inst, rate, ms, ratio in rows:
        print(f"{kind:8} {what:18} {inst:>4} {rate:>9.0f} {ms:>8.3f} {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
