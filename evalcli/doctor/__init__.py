"""`evalcli doctor`: diagnose the machine before a run — Python and the spawn process model,
the llama-cpp-python wheel, the demo model, NVIDIA GPU/NVML, CPU/RAM/disk, the profile's
engine, tiktoken's cache, and Windows specifics.

    run_checks(profile, model, runs_dir)
      Context.build ─► one check function after another ─► [Check(name, status, detail, fix)]
      status: ok | warn | fail | skip   (a check that raises becomes a "fail", never a crash)

Anything that can crash or hang (llama_cpp, pynvml, ctypes DLL loads) runs in a child
process (probe.py); the checks classify its exit code into advice.

May import inputs, engines, ipc, store, errors and environment; never run, science or report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evalcli.doctor import (
    checks_cuda,
    checks_engines,
    checks_gpu,
    checks_llama,
    checks_python,
    checks_system,
    checks_windows,
    smoke,
)
from evalcli.doctor.check import Check, Context

__all__ = ["Check", "Context", "CHECKS", "run_checks"]

CHECKS: list[tuple[str, Callable[[Context], Check]]] = [
    ("python", checks_python.check_python),
    ("project packages", checks_python.check_packages),
    ("spawn round-trip", checks_python.check_spawn),
    ("profile", checks_engines.check_profile),
    ("engine", checks_engines.check_engine),
    ("ollama address", checks_engines.check_ollama_address),
    ("ollama gpu placement", checks_engines.check_ollama_placement),
    ("llama-cpp-python", checks_llama.check_llama),
    ("demo model", checks_llama.check_demo_model),
    ("nvidia gpu", checks_gpu.check_gpu),
    ("cuda wheel", checks_cuda.check_cuda_wheel),
    ("cuda libraries", checks_cuda.check_cuda_libs),
    ("llama.cpp smoke load", smoke.check_smoke),
    ("vram budget", checks_gpu.check_vram),
    ("cpu", checks_system.check_cpu),
    ("memory", checks_system.check_memory),
    ("disk", checks_system.check_disk),
    ("tiktoken offline", checks_system.check_tiktoken),
    ("windows: vc++ runtime", checks_windows.check_vc_runtime),
    ("windows: nvml.dll", checks_windows.check_nvml_dll),
    ("windows: long paths", checks_windows.check_long_paths),
]


def run_checks(profile: str | None = None, model: Path | None = None,
               runs_dir: Path = Path("runs"),
               on_check: Callable[[Check], None] | None = None) -> list[Check]:
    """Run every check in order; `on_check` sees each result as soon as it exists."""
    ctx = Context.build(profile, model, runs_dir)
    results = []
    for name, fn in CHECKS:
        try:
            check = fn(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            check = Check(name, "fail", f"the check itself failed: {type(exc).__name__}: {exc}",
                          "this is a bug in evalcli doctor: report it with the --json output")
        results.append(check)
        if on_check is not None:
            on_check(check)
    return results
