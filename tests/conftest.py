"""Test tiers by directory, marked automatically so they can be selected by name:

    tests/unit     -m unit      pure functions, fast
    tests/process  -m process   real spawned workers on the mock engine (crash matrix); the CLI
                                runs in the test's process (tests/helpers.py `evalcli`) unless
                                the test is about its process (signals, kill -9, console,
                                environment): `process=True`, popen_evalcli, or
                                EVALCLI_TESTS_CHILDREN=1 for every call
    tests/servers  -m server    loopback HTTP servers speaking each engine's wire format
    tests/model    -m model     real GGUF models through llama-cpp-python (skip: -m "not model")

EVALCLI_STRICT_SKIPS=1 (set by .ci/run) turns the skips for a missing llama_cpp,
llama_cpp.server, the demo model package or chromium into failures: on a README install
they must all run, and a skip there would hide exactly the test that matters.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

# A suite started as a background job of a non-interactive shell (`bash .ci/run &`, a CI
# runner's step) inherits SIGINT ignored, and so would every evalcli it starts: Ctrl+C tests
# would then see an evalcli that rightly keeps ignoring it (evalcli/run/supervisor.py
# install_stop_handlers) and exits 0. The tests model a terminal, where Ctrl+C is live: give
# this process the default handler, which its children get back as the default action.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config):
    """Compile the modules under test (evalcli, engines, ipc) once, before the suite starts
    its child processes (CLI runs, spawned workers). With PYTHONDONTWRITEBYTECODE set, as on
    many CI images and containers, no process writes a .pyc, so every one of them compiled
    what it imports from source again (a 1-item mock run as a child: 1.5 s instead of 1.1 s).
    compileall writes the caches whatever that variable says; a child still recompiles any
    module whose source changed since. The xdist workers find the controller did it."""
    if hasattr(config, "workerinput"):
        return
    import compileall

    import engines
    import evalcli
    import ipc

    for package in (evalcli, engines, ipc):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


_TIERS = {"unit": pytest.mark.unit, "process": pytest.mark.process,
          "servers": pytest.mark.server, "model": pytest.mark.model}


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        try:
            tier = Path(item.fspath).resolve().relative_to(root).parts[0]
        except ValueError:
            continue
        if tier in _TIERS:
            item.add_marker(_TIERS[tier])


# words in a skip reason that mean "something the README install provides is missing"
_MISSING = ("llama_cpp", "llama-cpp", "gemma3_270m", "chromium")


def _strict_failure(report) -> bool:
    if os.environ.get("EVALCLI_STRICT_SKIPS") != "1" or not report.skipped:
        return False
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if not any(word in reason for word in _MISSING):
        return False
    report.outcome = "failed"
    report.longrepr = f"EVALCLI_STRICT_SKIPS=1: this skip is a failure here: {reason}"
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _strict_failure(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _strict_failure(outcome.get_result())
