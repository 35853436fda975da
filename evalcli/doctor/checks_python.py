"""Interpreter and process-model checks: Python version/bitness/venv/frozen, that the
generic top-level packages (`engines`, `ipc`, `profiles`) are this project's, and a real
spawn round-trip of a 1 MiB msgpack frame over a multiprocessing Pipe."""

from __future__ import annotations

import multiprocessing
import os
import platform
import struct
import sys
import threading
import time
from pathlib import Path

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context


def _new_python() -> str:
    if shell.windows():
        return "winget install -e --id Python.Python.3.12   (then recreate the .venv with it)"
    return "install 64-bit Python 3.12 from https://www.python.org/downloads/ and recreate the venv"


def _venv() -> str:
    if shell.windows():
        return ('python -m venv .venv; .venv\\Scripts\\Activate.ps1; '
                'python -m pip install -e ".[llama]"   (in the evalcli folder)')
    return ('python3 -m venv .venv && . .venv/bin/activate && '
            'python -m pip install -e ".[llama]"   (in the evalcli folder)')

SPAWN_TIMEOUT_S = 60.0
PAYLOAD_BYTES = 1 << 20


def check_python(ctx: Context) -> Check:
    version = sys.version_info
    bits = struct.calcsize("P") * 8
    base = getattr(sys, "_base_executable", sys.executable)
    in_venv = sys.prefix != sys.base_prefix
    frozen = bool(getattr(sys, "frozen", False))
    detail = (f"{platform.python_implementation()} {platform.python_version()} {bits}-bit on "
              f"{platform.platform()}; {sys.executable}"
              f"{f' (venv of {base})' if in_venv else ' (no venv)'}"
              f"{'; frozen (PyInstaller)' if frozen else ''}")
    if version < (3, 10):
        return Check("python", "fail", detail + ": evalcli needs 3.10+", _new_python())
    if bits != 64:
        return Check("python", "fail", detail + ": llama.cpp wheels and models over 2 GB need "
                     "64-bit", _new_python())
    if not in_venv and not frozen:
        return Check("python", "warn", detail + ": not in a virtual environment", _venv())
    return Check("python", "ok", detail)


def check_packages(ctx: Context) -> Check:
    """`engines`, `ipc` and `profiles` are generic names: another distribution may own them."""
    import engines
    import evalcli
    import ipc
    import profiles

    home = Path(evalcli.__file__).resolve().parent.parent
    wrong, owners = [], set()
    for module in (engines, ipc, profiles):
        where = Path(module.__file__ or "").resolve().parent.parent
        if where != home:
            wrong.append(f"{module.__name__} -> {module.__file__}")
            owners.update(_owners(module.__name__))
    if wrong:
        return Check("project packages", "fail",
                     f"shadowed: {'; '.join(wrong)} (evalcli is in {home})",
                     shell.pip("uninstall", "-y", *sorted(owners)) if owners else _venv())
    return Check("project packages", "ok", f"evalcli, engines, ipc, profiles all from {home}")


def _owners(top: str) -> list[str]:
    from importlib import metadata

    return [d for d in metadata.packages_distributions().get(top, []) if d != "evalcli"]


def check_spawn(ctx: Context, timeout: float = SPAWN_TIMEOUT_S,
                payload_bytes: int = PAYLOAD_BYTES) -> Check:
    import msgspec

    from evalcli.doctor.probe import echo_child

    name = "spawn round-trip"
    methods = ", ".join(multiprocessing.get_all_start_methods())
    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe()
    proc = mp.Process(target=echo_child, args=(child,), daemon=True, name="evalcli-doctor-echo")
    payload = {"nonce": os.urandom(8).hex(), "blob": os.urandom(payload_bytes)}
    start = time.perf_counter()
    fix = ("workers cannot start: make sure the entry point calls "
           "multiprocessing.freeze_support() under if __name__ == \"__main__\" (frozen apps), "
           "that `python -c \"import evalcli, engines, ipc\"` works, and that no antivirus "
           "blocks new python processes")
    try:
        proc.start()
        child.close()
        if not parent.poll(timeout):
            return Check(name, "fail", f"the spawned child did not answer within {timeout:.0f} s "
                         f"(exit code {proc.exitcode})", fix)
        hello = msgspec.msgpack.decode(parent.recv_bytes())
        spawned = time.perf_counter()
        frame = msgspec.msgpack.encode(payload)
        sender = threading.Thread(target=_send, args=(parent, frame), daemon=True)
        sender.start()  # a child that stops reading must not block doctor
        if not parent.poll(timeout):
            return Check(name, "fail", f"no echo of a {len(frame)} byte frame within "
                         f"{timeout:.0f} s (child exit code {proc.exitcode})", fix)
        echoed = msgspec.msgpack.decode(parent.recv_bytes())
        done = time.perf_counter()
        parent.send_bytes(b"")
    except (EOFError, OSError) as exc:
        proc.join(5)
        return Check(name, "fail", f"the pipe to the spawned child broke ({exc!r}; child exit "
                     f"code {proc.exitcode})", fix)
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        parent.close()
    if echoed != payload:
        return Check(name, "fail", "the echoed frame differs from the one sent",
                     "the pipe corrupts data: report this with `evalcli doctor --json`")
    detail = (f"spawn {1000 * (spawned - start):.0f} ms, {len(frame) / (1 << 20):.1f} MiB "
              f"echo {1000 * (done - spawned):.0f} ms (start methods: {methods})")
    child_engines = Path(hello.get("engines", "")).resolve()
    if child_engines != Path(sys.modules["engines"].__file__).resolve():
        return Check(name, "fail", f"{detail}; the child imported engines from {child_engines}",
                     "the spawned interpreter sees different packages: run evalcli from the "
                     "virtual environment it is installed in")
    return Check(name, "ok", detail)


def _send(conn, frame: bytes) -> None:
    try:
        conn.send_bytes(frame)
    except OSError:
        pass
