"""`evalcli doctor`: diagnose the machine; exit 0 when nothing failed, 1 otherwise.

    text      a version line, then problems (fail, then warn) with each fix on its own
              unwrapped line, then the ok/skip rows; details wrapped (never cut) to the
              terminal width (80 columns when piped)
    --profile defaults to what `evalcli run` uses: $EVALCLI_PROFILE, else local-llamacpp
    --report  one paste-ready block for a bug report (versions + every row, nothing wrapped)
    --json    [{"name", "status", "detail", "fix"}, ...], ASCII only
"""

from __future__ import annotations

import json
import platform
import sys
import textwrap
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import JsonFlag, RunsDir, console

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
_ORDER = {"fail": 0, "warn": 1, "ok": 2, "skip": 3}
_INDENT = " " * 6


def version_line() -> str:
    from importlib import metadata

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"evalcli {version('evalcli')} | Python {platform.python_version()} "
            f"{platform.machine()} | {platform.platform(terse=True)} | llama-cpp-python "
            f"{version('llama_cpp_python')} | nvidia-ml-py {version('nvidia-ml-py')}")


def render_text(out, checks) -> None:
    from rich.text import Text

    width = max(40, out.width)
    for line in textwrap.wrap(version_line(), width, subsequent_indent="  "):
        out.print(line, markup=False)
    ordered = sorted(checks, key=lambda c: _ORDER[c.status])  # stable: check order kept
    problems = [c for c in ordered if c.status in ("fail", "warn")]
    if problems:
        out.print(f"\n{len(problems)} problem(s):", markup=False)
    for i, check in enumerate(ordered):
        if i == len(problems):
            out.print("\nchecks that passed or did not apply:", markup=False)
        head = Text(f"{check.status.upper():<6}", style=_STYLE[check.status])
        head.append(check.name)
        if check.status in ("fail", "warn"):
            out.print(head)
            for line in textwrap.wrap(check.detail, width - len(_INDENT)) or [""]:
                out.print(_INDENT + line, markup=False, highlight=False)
            if check.fix:
                out.print(_INDENT + "fix:", markup=False)
                out.print(_INDENT + "  " + check.fix, markup=False, highlight=False,
                          soft_wrap=True)  # one line, never wrapped: copy it whole
            continue
        head.append(": ")
        out.print(head, end="")  # the whole detail, wrapped (a hint is never cut short)
        lead = " " * len(head.plain)
        lines = textwrap.wrap(check.detail, width, initial_indent=lead,
                              subsequent_indent=_INDENT, break_on_hyphens=False,
                              break_long_words=False) or [lead]
        out.print(lines[0][len(lead):], markup=False, highlight=False, soft_wrap=True)
        for line in lines[1:]:
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    counts = {s: sum(c.status == s for c in checks) for s in ("fail", "warn", "ok", "skip")}
    out.print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items())
              + ("  (full details: evalcli doctor --report)" if problems else ""),
              markup=False)


def render_report(checks, args: list[str]) -> str:
    """Plain text inside a Markdown fence: pasted into an issue, it shows as is."""
    lines = ["```text", "evalcli doctor --report", version_line(),
             f"python: {sys.executable}", f"command: evalcli {' '.join(args)}".rstrip(), ""]
    for check in sorted(checks, key=lambda c: _ORDER[c.status]):
        lines.append(f"[{check.status}] {check.name}: {check.detail}")
        if check.fix:
            lines.append(f"    fix: {check.fix}")
    lines.append("```")
    return "\n".join(lines)


def doctor(
    profile: Annotated[str, typer.Option("--profile", "-p", metavar="PROFILE", envvar="EVALCLI_PROFILE", help="Check this profile's engine and model, as `evalcli run` would use them (bundled name or .toml path; or $EVALCLI_PROFILE).")] = "local-llamacpp",
    model: Annotated[Path | None, typer.Option("--model", help="Smoke-load this .gguf with llama-cpp-python (n_ctx 512, 8 tokens).")] = None,
    runs_dir: RunsDir = Path("runs"),
    as_json: JsonFlag = False,
    report: Annotated[bool, typer.Option("--report", help="Print one paste-ready block for a bug report.")] = False,
) -> None:
    """Diagnose the machine: Python, spawn, llama.cpp wheel, CUDA, GPU, resources, engines."""
    from evalcli.doctor import run_checks

    if as_json:
        checks = run_checks(profile, model, runs_dir)
        import msgspec

        # ASCII-only JSON: safe on any console code page and in any pipe
        typer.echo(json.dumps(msgspec.to_builtins(checks), indent=2))
    elif report:
        checks = run_checks(profile, model, runs_dir)
        typer.echo(render_report(checks, sys.argv[2:] if len(sys.argv) > 2 else []))
    else:
        out = console()
        with out.status("running checks...", spinner="dots") if out.is_terminal else nullcontext():
            checks = run_checks(profile, model, runs_dir)
        render_text(out, checks)
    if any(check.status == "fail" for check in checks):
        raise typer.Exit(1)
