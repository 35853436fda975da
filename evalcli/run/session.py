"""One session of a run, shared by `evalcli run` and `evalcli resume` (the commands only
parse flags, take the lock and print around it):

    truthful_end ─┬─ generate        (when selected; "completed" | "verdict" | "stopped")
                  └─ later stages    (unless stopped: run/stages.py finish, numpy and scipy
                                      imported only here, after the units)

however it ends, run.json says so (run/generate.py truthful_end).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from evalcli.run.generate import generate, truthful_end
from evalcli.run.pipeline import Setup
from evalcli.store.manifest import Manifest


def run_session(setup: Setup, manifest: Manifest, out: Console, stages: tuple[str, ...], *,
                past_verdict: bool = False,
                before_generate: Callable[[], None] = lambda: None,
                without_generate: Callable[[], None] = lambda: None) -> tuple[str, tuple[str, ...]]:
    """Generate (when `stages` has it), then the selected later stages: the status generate
    ended with ("completed" when it did not run) and the later stages that ran."""
    status, produced = "completed", ()
    with truthful_end(setup.run_dir, manifest):
        if "generate" in stages:
            before_generate()
            status = generate(setup, manifest, out, live=out.is_terminal,
                              past_verdict=past_verdict)
        else:
            without_generate()
        if status != "stopped":
            from evalcli.run.stages import finish  # numpy, scipy: after the units

            produced = finish(setup, manifest, tuple(s for s in stages if s != "generate"),
                              note=lambda line: out.print(line, markup=False))
    return status, produced
