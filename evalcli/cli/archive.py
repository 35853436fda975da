"""`evalcli archive RUN_ID [--out FILE]`: the whole run as one portable zip with sha256 sums.

A running run is refused (its lock has a live holder); secrets never go in (see
evalcli.store.archive). `evalcli run --archive` calls archive_run() when its run ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import RunIdArg, RunsDir, console
from evalcli.store.archive import SUFFIX, create_archive, default_out
from evalcli.store.rundir import RunDir
from evalcli.store.runinfo import open_run

OutFile = Annotated[Path | None, typer.Option(
    "--out", help=f"Archive file to write (default: ./<run-id>{SUFFIX}).")]


def archive(run_id: RunIdArg, runs_dir: RunsDir = Path("runs"), out: OutFile = None) -> None:
    """Pack a finished (or stopped) run into one zip: artifacts, logs, events, sha256 manifest."""
    archive_run(open_run(runs_dir, run_id), out, console())


def archive_run(rd: RunDir, out: Path | None, line) -> Path:
    """Pack run `rd` into `out` (default ./<run-id>.evalcli.zip) and say so on `line`; the path."""
    target = (out or default_out(rd)).expanduser()
    manifest = create_archive(rd, target, scrub=_scrub_recorded_keys)
    size = target.stat().st_size
    line.print(f"archived run {rd.run_id} ({manifest['run_status'] or 'unknown status'}): "
               f"{len(manifest['files'])} files, {size:,} bytes → {target}", markup=False)
    if manifest["redacted"]:
        line.print("note: a secret value was cut out of: " + ", ".join(manifest["redacted"]),
                   markup=False)
    line.print(f"check it with: evalcli verify {target}", markup=False)
    return target


def _scrub_recorded_keys(run_json: dict, data: bytes) -> bytes:
    """`data` with the keys run.json fingerprinted cut out (engines/secrets.py)."""
    from engines.secrets import Scrubber

    record = run_json.get("secrets") if isinstance(run_json, dict) else None
    return Scrubber.from_fingerprint(record).scrub_bytes(data)
