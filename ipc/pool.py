"""Spawn, wait on, reap and kill engine worker processes.

    WorkerProcess.start()  ─ spawn context (on every platform), a fresh duplex Pipe each time;
                             the log file opened here and handed over (ipc/inherit.py);
                             on Windows the worker joins the kill-on-close job (ipc/winjob.py)
    wait(workers, timeout) ─ one multiprocessing.connection.wait() over every worker's pipe
                             AND its process sentinel: a message and a death are seen by the
                             same loop, at once
    describe_exit(code)    ─ "killed by SIGKILL (out of memory?)", Windows NTSTATUS names, ...

After a worker dies its pipe is discarded (data in it may be torn) and a restart gets a new
one. Policy (when to restart, what to requeue) lives in the supervisor, not here.

Workers die with the process that started them (ipc/lifeline.py). On Linux that is the
*thread* that called start(): start, stop and reap a worker from one thread that outlives
it — the supervisor's loop does.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys

import msgspec

from ipc import winjob
from ipc.channel import supervisor_channel
from ipc.inherit import InheritedFile
from ipc.messages import FromWorker, Shutdown, WorkerSpec
from ipc.waiting import wait_many
from ipc.worker import BOOT_ERROR, RETIRED, worker_main

_CTX = multiprocessing.get_context("spawn")

_WINDOWS_STATUS = {
    0xC0000005: "access violation (native crash)",
    0xC000001D: "illegal instruction (the llama.cpp build does not match this CPU)",
    0xC0000135: "a DLL was not found",
    0xC0000409: "stack buffer overrun / fail-fast (native crash)",
    0xC00000FD: "stack overflow",
}


# abort() in native code (a failed GGML_ASSERT, std::terminate): SIGABRT on POSIX; the
# Microsoft C runtime's abort() ends the process with exit code 3 instead
ABORTED = "aborted: abort() in native code, e.g. a failed GGML_ASSERT (see the worker log)"
WINDOWS_ABORT = 3


def describe_exit(exitcode: int | None, *, platform: str = sys.platform) -> str:
    if exitcode is None:
        return "still running"
    if exitcode == 0:
        return "exited normally"
    if exitcode == BOOT_ERROR:
        return "could not start its engine"
    if exitcode == RETIRED:
        return "exited after a native fault in its engine, to be replaced by a fresh worker"
    if exitcode == WINDOWS_ABORT and platform == "win32":
        return f"{ABORTED} (exit code 3)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGABRT":
            return f"{ABORTED} (SIGABRT)"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    status = exitcode & 0xFFFFFFFF
    if status in _WINDOWS_STATUS:
        return f"crashed: {_WINDOWS_STATUS[status]} (0x{status:08X})"
    return f"exited with code {exitcode}"


class WorkerProcess:
    """One worker: its process, the supervisor's end of its pipe, and its log file."""

    def __init__(self, spec: WorkerSpec, log_path: str) -> None:
        self.spec = spec
        self.log_path = log_path  # appended to across restarts; only this process opens it
        self.process: multiprocessing.process.BaseProcess | None = None
        self.channel = None

    @property
    def index(self) -> int:
        return self.spec.worker_index

    def start(self) -> None:
        parent_conn, child_conn = _CTX.Pipe(duplex=True)
        with open(self.log_path, "ab", buffering=0) as log:
            self.process = _CTX.Process(
                target=worker_main,
                args=(msgspec.msgpack.encode(self.spec), child_conn, InheritedFile(log.fileno())),
                name=f"evalcli-worker-{self.index}",
                daemon=True,
            )
            self.process.start()
        child_conn.close()
        winjob.contain(self.process.pid)
        self.channel = supervisor_channel(parent_conn)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def send(self, message: msgspec.Struct) -> bool:
        """Send a command; False when the pipe is already broken (the worker died)."""
        try:
            self.channel.send(message)
            return True
        except (OSError, ValueError, EOFError):
            return False

    def recv(self) -> FromWorker:
        return self.channel.recv()

    def has_message(self) -> bool:
        """A message is waiting on the pipe now (False once the pipe is closed or broken)."""
        try:
            return self.channel is not None and self.channel.conn.poll()
        except (OSError, ValueError, EOFError):
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()

    def reap(self, timeout: float = 5.0) -> int | None:
        """Join the process, close its pipe and handles; returns its exit code."""
        if self.process is None:
            return None
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        code = self.process.exitcode
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        try:
            self.process.close()
        except ValueError:
            pass
        self.process = None
        return code

    def stop(self, grace: float = 10.0) -> int | None:
        """Ask, wait, then kill (gunicorn's order)."""
        if self.process is None:
            return None
        if self.process.is_alive():
            self.send(Shutdown())
            self.process.join(grace)
        return self.reap()


def wait(workers: list[WorkerProcess], timeout: float | None) -> list[tuple[WorkerProcess, str]]:
    """Block until some worker has a message ("message") or has died ("exit")."""
    by_handle: dict[object, tuple[WorkerProcess, str]] = {}
    for worker in workers:
        if worker.process is None:
            continue
        by_handle[worker.channel.conn] = (worker, "message")
        by_handle[worker.process.sentinel] = (worker, "exit")
    if not by_handle:
        return []
    ready = wait_many(list(by_handle), timeout)  # at most 63 handles per wait on Windows
    events = [by_handle[handle] for handle in ready]
    # A message that arrived just before death is still read first.
    events.sort(key=lambda event: event[1] != "message")
    return events
