"""Entry point for `evalcli` and `python -m evalcli`; maps user errors to one line + exit code.

Before anything prints, stdout and stderr are made safe for any encoding: a console or a
redirected file in a legacy code page (cp1252 on Windows: `> log`, `| Tee-Object`, Task
Scheduler) gets `?` for a character it lacks instead of a UnicodeEncodeError half-way through
a run.
"""

from __future__ import annotations

import sys


def safe_streams() -> None:
    """Keep each stream's encoding, but replace what it cannot encode."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:  # None (pythonw) or a stream that is not a TextIOWrapper
            continue
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):  # a detached or closed stream: nothing to protect
            pass


def _interrupt(signum, frame) -> None:
    import signal

    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_signals_interrupt() -> None:
    """SIGTERM (and Ctrl+Break, SIGBREAK on Windows) act as Ctrl+C everywhere: the same
    KeyboardInterrupt, so the same one line, exit 130 and a `stopped` run.json. The supervisor
    installs its own handlers while it runs (first = finish in-flight units) and puts these
    back; spawned workers never run main() and keep their own."""
    import signal

    for name in ("SIGTERM", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            signal.signal(sig, _interrupt)
        except (ValueError, OSError):  # not the main thread, or a platform that refuses
            pass


def main() -> None:
    try:  # Ctrl+C at any point, the imports included: the same one line
        if getattr(sys, "frozen", False):  # a frozen Windows executable: a worker starts here
            import multiprocessing

            multiprocessing.freeze_support()  # what it checks first; elsewhere a no-op
        safe_streams()
        stop_signals_interrupt()
        _main()
    except KeyboardInterrupt:  # Ctrl+C / Ctrl+Break / SIGTERM outside a run's stages
        print("interrupted - finished work is kept; continue with: evalcli resume <run-id> "
              "(evalcli runs lists them)", file=sys.stderr)
        sys.exit(130)


def _main() -> None:
    from evalcli.errors import EvalcliError, StopRequested

    try:
        from evalcli.cli import app

        app()
    except SystemExit as exc:
        if _typer_swallowed_interrupt(exc):  # Ctrl+C / SIGTERM outside a run's stages
            raise KeyboardInterrupt from None  # main() prints the one line
        raise
    except EvalcliError as exc:
        from rich.console import Console

        prefix = "" if isinstance(exc, StopRequested) else "error: "
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"{prefix}{exc.message}", markup=False
        )
        sys.exit(exc.exit_code)


def _typer_swallowed_interrupt(exc: SystemExit) -> bool:
    """Typer turns a KeyboardInterrupt escaping a command into a silent exit 130
    (`raise Exit(130) from KeyboardInterrupt`, then sys.exit): true for that exit."""
    if exc.code != 130:
        return False
    seen, link = 0, exc.__context__
    while link is not None and seen < 8:
        if isinstance(link, KeyboardInterrupt):
            return True
        link, seen = link.__cause__ or link.__context__, seen + 1
    return False


if __name__ == "__main__":
    main()
