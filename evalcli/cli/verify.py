"""`evalcli verify FILE`: check an archive's files against its sha256 manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import JsonFlag, console
from evalcli.errors import RunError
from evalcli.store.archive import verify_archive
from evalcli.store.runinfo import to_json

ArchiveArg = Annotated[Path, typer.Argument(metavar="FILE", help="An archive written by evalcli archive.")]


def verify(file: ArchiveArg, as_json: JsonFlag = False) -> None:
    """Check every file of an archive against its manifest; exit 4 when any differs."""
    if not file.is_file():
        raise RunError(f"{file}: no such file — pass an archive written by evalcli archive")
    check = verify_archive(file)
    if as_json:
        typer.echo(to_json({"file": str(file), "run_id": check.run_id, "ok": check.ok,
                            "files": check.files, "manifest_sha256": check.manifest_sha256,
                            "problems": check.problems}))
    else:
        out = console()
        for problem in check.problems:
            out.print(f"FAIL {problem}", markup=False)
        out.print(f"{'ok' if check.ok else 'FAILED'}: {file} — run {check.run_id}, "
                  f"{check.files} files listed, {len(check.problems)} problem(s); "
                  f"manifest sha256 {check.manifest_sha256}", markup=False)
    if not check.ok:
        raise RunError(f"{file}: {len(check.problems)} file(s) do not match the archive's "
                       "manifest — the archive was changed or damaged")
