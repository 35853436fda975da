"""Pure pieces of run integrity (issue 11): run ids, key-looking values, worker caps, the
63-handle chunked wait, the summary line."""

from __future__ import annotations

import multiprocessing
import time
from types import SimpleNamespace

import pytest

from engines.http import check_api_key_env, check_url_has_no_credentials, looks_like_key
from evalcli.errors import RunError
from evalcli.inputs import vram
from evalcli.run import capacity
from evalcli.run.summary import Summary, format_duration
from evalcli.store.rundir import validate_run_id
from ipc.waiting import wait_many


@pytest.mark.parametrize("good", ["a", "_", "r20261129-000126-ad3e", "my.run_v2", "CONSOLE",
                                  "con-1", "nul_", "COM0", "LPT10", "a" * 120])
def test_good_run_ids(good):
    assert validate_run_id(good) == good


@pytest.mark.parametrize("bad", ["", "ünïcode", "ａ", "CON", "con", "NUL.txt", "nul.tar.gz",
                                 "com1", "LPT9", "aux.", "x\n", "x.", "..", "a..b", ".x", "-x",
                                 "a/b", "a\\b", "a b", "a" * 121])
def test_bad_run_ids(bad):
    with pytest.raises(RunError):
        validate_run_id(bad)


@pytest.mark.parametrize("value", ["sk-abc", "sk-proj-AbC123", "gsk_x", "fw_3ZabcDEF",
                                   "Bearer abc", "my-key", "key with space",
                                   "aB3dE6gH9jK2mN5pQ8rS1tU4", "a=b"])
def test_key_looking_values_are_refused_without_echo(value):
    assert looks_like_key(value)
    with pytest.raises(ValueError) as info:
        check_api_key_env(value)
    assert value not in str(info.value)


@pytest.mark.parametrize("value", ["", "OPENAI_API_KEY", "FIREWORKS_API_KEY", "my_key",
                                   "LLAMA_SERVER_KEY_2"])
def test_variable_names_pass(value):
    check_api_key_env(value)


@pytest.mark.parametrize("url", ["http://u:p4ss@host:1", "http://token@host", "http://h/v1?key=z",
                                 "https://h/#frag"])
def test_urls_with_credentials_are_refused(url):
    with pytest.raises(ValueError) as info:
        check_url_has_no_credentials(url)
    assert "p4ss" not in str(info.value) and "key=z" not in str(info.value)


def test_plain_urls_pass():
    for url in ("http://127.0.0.1:8080", "https://api.openai.com/v1", ""):
        check_url_has_no_credentials(url)


def test_general_cap():
    assert capacity.general_cap(None, "")[0] == capacity.MAX_WORKERS
    assert capacity.general_cap(1000, "x")[0] == capacity.MAX_WORKERS
    assert capacity.general_cap(4, "slots") == (4, "slots")


def test_llama_memory_cap_arithmetic(tmp_path):
    model = tmp_path / "m.gguf"
    with open(model, "wb") as fh:
        fh.truncate(1 << 30)  # 1 GiB, sparse
    opts = SimpleNamespace(model=str(model), n_gpu_layers=0)
    per = (1 << 30) + capacity.WORKER_OVERHEAD
    fits, why = capacity.llama_memory_cap(opts, 4, free=(2 * per + 10, None))
    assert fits == 2
    assert why.startswith("each llama_cpp worker loads its own copy of the model: 4 x "
                          "(1.0 GiB model + 256 MiB overhead) = 5.0 GiB, but 2.5 GiB of RAM")
    assert capacity.llama_memory_cap(opts, 2, free=(2 * per + 10, None)) == (None, "")
    on_gpu = SimpleNamespace(model=str(model), n_gpu_layers=-1, n_ctx=2048, n_batch=512)
    one = vram.need(vram.shape_from_size(1 << 30), 2048, -1, 512)  # no header: file size
    fits, why = capacity.llama_memory_cap(on_gpu, 3, free=(100 * per, [2 * one.gpu + 10]))
    assert fits == 2 and "3 worker(s) x (1.00 GiB weights" in why and "GiB free" in why
    # a GPU that holds every worker: no cap; one that holds none still runs one (slowly)
    assert capacity.llama_memory_cap(on_gpu, 3, free=(100 * per, [3 * one.gpu])) == (None, "")
    assert capacity.llama_memory_cap(on_gpu, 3, free=(100 * per, [1 << 20]))[0] == 1
    assert capacity.llama_memory_cap(opts, 4, free=(None, None)) == (None, "")


def test_request_timeout_stays_below_the_unit_timeout():
    assert capacity.request_timeout(SimpleNamespace(timeout_s=600.0), 600.0)[0] == 300.0
    assert capacity.request_timeout(SimpleNamespace(timeout_s=300.0), 600.0) == (None, "")
    assert capacity.request_timeout(SimpleNamespace(), 600.0) == (None, "")  # not HTTP


def test_chunked_wait_never_passes_more_than_the_limit():
    pipes = [multiprocessing.Pipe(duplex=False) for _ in range(70)]  # 70 > 63 handles
    readers = [r for r, _ in pipes]
    sizes = []

    def spy(objects, timeout):
        sizes.append(len(objects))
        from multiprocessing.connection import wait

        return wait(objects, timeout)

    try:
        started = time.monotonic()
        assert wait_many(readers, 0.2, limit=63, wait=spy) == []  # nothing ready: the deadline
        assert time.monotonic() - started >= 0.19
        pipes[68][1].send("hello")  # in the second chunk
        pipes[3][1].send("hi")  # and in the first
        ready = wait_many(readers, 5.0, limit=63, wait=spy)
        assert set(ready) == {readers[68], readers[3]}
        assert max(sizes) <= 63
        sizes.clear()
        assert wait_many(readers[10:20], 0, limit=63, wait=spy) == []
        assert sizes == [10]  # under the limit: one plain wait
    finally:
        for r, w in pipes:
            r.close()
            w.close()


def test_summary_line():
    s = Summary(units=292, ok=288, failed=4)
    s.kinds.update({"timeout": 3, "http_5xx": 1})
    line = s.line(552.0, 292, "runs/r/report.md")
    assert line == ("292 units: 288 ok, 4 failed (3 timeout, 1 http_5xx) in 9m12s - "
                    "0.53 units/s; report: runs/r/report.md")
    assert line.isascii()
    assert Summary(units=10, ok=4).counts() == "10 units: 4 ok, 0 failed, 6 pending"
    assert [format_duration(x) for x in (4.24, 61, 3725)] == ["4.2s", "1m01s", "1h02m"]
