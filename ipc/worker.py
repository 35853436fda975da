"""The worker process: load one engine, then serve one request at a time until told to stop.

    spawn ─► worker_main(spec_bytes, conn, log_fd)
               ├─ bind_to_parent(): die with the supervisor (ipc/lifeline.py)
               ├─ ignore SIGINT/SIGBREAK: the supervisor owns shutdown
               ├─ stdout/stderr (fd 1 and 2) → log_fd, the log file the supervisor opened
               │                               (llama.cpp writes to fd 2)
               ├─ engine = Engine(options)      fails → Failed(unit_id=None), exit BOOT_ERROR
               ├─ scrubber = Scrubber(Engine.secrets(options)): every text sent back or
               │                               logged (answers, errors, tracebacks) is
               │                               scrubbed of the engine's keys
               ├─ Ready
               └─ loop: Generate (or GenerateMany: each in order) → "unit <id>" in the
                        log → Completed | Failed, one reply per unit ;
                        EngineFault → Failed(worker_exits=True), exit RETIRED (no close:
                        the engine's memory may be corrupted) ;
                        Shutdown or EOF → close, exit 0

The entry is a module-level function whose arguments are plain data (msgpack bytes, a
Connection and a file descriptor), as the spawn start method requires on every platform.

A worker has no path to the run directory: it writes nothing but frames on its pipe and
lines on the log descriptor it was handed. With no supervisor its results have nowhere to
go, and it does not outlive the supervisor by more than a second anyway.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time
import traceback

import msgspec

from engines import engine_class
from engines.base import EngineError, EngineFault
from engines.secrets import Scrubber, scrub_completion
from ipc.channel import worker_channel
from ipc.lifeline import bind_to_parent
from ipc.messages import Completed, Failed, Generate, GenerateMany, Ready, Shutdown, WorkerSpec

# Exit code for "the engine could not start": the supervisor must not respawn-loop it.
# Not 3: that is what abort() in native code exits with on Windows.
BOOT_ERROR = 78
# Exit code of a worker that retired itself after an EngineFault (a native fault).
RETIRED = 79


def _redirect_output(log_fd: int) -> None:
    """Point fd 1 and 2 (and sys.stdout/stderr) at the log file the supervisor opened."""
    for fd in (1, 2):
        try:
            os.dup2(log_fd, fd)
        except OSError:
            pass
    os.close(log_fd)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    faulthandler.enable(file=sys.stderr)


def worker_main(spec_bytes: bytes, conn, log_fd: int) -> None:
    bind_to_parent()
    for name in ("SIGINT", "SIGBREAK"):  # console interrupts reach every process on the console
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    spec = msgspec.msgpack.decode(spec_bytes, type=WorkerSpec)
    _redirect_output(log_fd)
    channel = worker_channel(conn)
    print(f"worker {spec.worker_index} pid {os.getpid()} engine {spec.engine}", flush=True)
    scrubber = Scrubber()
    try:
        cls = engine_class(spec.engine)
        options = msgspec.convert(spec.options, cls.Options)
        scrubber = Scrubber(cls.secrets(options))
        engine = cls(options, spec.worker_index)
    except BaseException as exc:  # noqa: BLE001 - any load failure is reported, then exit
        tb = scrubber.scrub(traceback.format_exc())
        print(tb, file=sys.stderr, flush=True)
        try:
            channel.send(Failed(unit_id=None, error=scrubber.scrub(_one_line(exc)), kind="load",
                                traceback=tb))
        except OSError:
            pass
        os._exit(BOOT_ERROR)
    channel.send(Ready(pid=os.getpid(), engine=spec.engine,
                       info={k: scrubber.scrub(v) for k, v in engine.describe().items()}))
    try:
        _serve(channel, engine, scrubber)
    finally:
        engine.close()


def _serve(channel, engine, scrubber: Scrubber) -> None:
    while True:
        try:
            message = channel.recv()
        except (EOFError, OSError):
            return  # the supervisor is gone
        match message:
            case Shutdown():
                return
            case Generate(request=request):
                if not _answer(channel, engine, request, scrubber):
                    return
            case GenerateMany(requests=requests):
                for request in requests:
                    if not _answer(channel, engine, request, scrubber):
                        return


def _answer(channel, engine, request, scrubber: Scrubber) -> bool:
    """Run one request and send its reply, scrubbed of the engine's keys; False when the
    supervisor is gone."""
    print(f"unit {request.unit_id}", flush=True)  # a native crash names its unit
    cpu_start = time.process_time()
    try:
        completion = engine.generate(request)
        completion = msgspec.structs.replace(scrub_completion(completion, scrubber), timings={
            **completion.timings,  # CPU time of the whole worker process (all threads)
            "worker_cpu_ms": round((time.process_time() - cpu_start) * 1000, 3)})
    except EngineError as exc:
        fault = isinstance(exc, EngineFault)
        if fault:
            print(scrubber.scrub(traceback.format_exc()), file=sys.stderr, flush=True)
        reply = Failed(
            unit_id=request.unit_id,
            error=scrubber.scrub(_one_line(exc)),
            kind=exc.kind,
            retryable=exc.retryable,
            worker_exits=fault,
        )
    except Exception as exc:  # noqa: BLE001 - an engine bug fails this unit only
        tb = scrubber.scrub(traceback.format_exc())
        print(tb, file=sys.stderr, flush=True)
        reply = Failed(
            unit_id=request.unit_id,
            error=scrubber.scrub(f"{type(exc).__name__}: {_one_line(exc)}"),
            kind="exception",
            traceback=tb,
        )
    else:
        reply = Completed(unit_id=request.unit_id, completion=completion)
    try:
        channel.send(reply)
    except (EOFError, OSError):
        return False
    if isinstance(reply, Failed) and reply.worker_exits:
        print("native fault: this worker exits; the supervisor starts a fresh one", flush=True)
        os._exit(RETIRED)
    return True


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
