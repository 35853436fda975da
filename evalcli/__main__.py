"""Entry point for `evalcli` and `python -m evalcli`; maps user errors to one line + exit code."""

from __future__ import annotations

import multiprocessing
import sys


def main() -> None:
    multiprocessing.freeze_support()
    from evalcli.errors import EvalcliError, StopRequested

    try:
        from rich.console import Console

        from evalcli.cli import app  # Ctrl+C during these imports: the same one line

        app()
    except EvalcliError as exc:
        prefix = "" if isinstance(exc, StopRequested) else "error: "
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"{prefix}{exc.message}", markup=False
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # Ctrl+C outside the supervisor (e.g. while writing the report)
        print("interrupted — finished work is kept; continue with: evalcli resume <run-id> "
              "(evalcli runs lists them)", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
