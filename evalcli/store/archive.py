"""One run as one portable file: a zip with every artifact and a manifest of sha256 sums.

    runs/<id>/ ──create_archive──► <id>.evalcli.zip
                                      <id>/archive-manifest.json   {files: {name: {sha256, size}}}
                                      <id>/run.json, items.jsonl, events.jsonl, report.md/.html
                                      <id>/logs/worker-<i>.log
                                      <id>/trials/<slug>/results.jsonl … costs.json
    <file> ──verify_archive──► ArchiveCheck (every listed file present with its sum, nothing
                               unlisted, no unsafe name)
    <file> ──extract_run──► a folder holding the run (checked first), for show and compare

Why zip, not tar: Windows opens a zip natively (Explorer, PowerShell's Expand-Archive),
and a zip has a central directory, so one member is read without reading the rest.

Never a secret: keys are named by environment variable in a profile (`api_key_env`), never
given inline; anything whose name says key/token/secret/password is still replaced with
"<redacted>" in run.json, a URL's user:password is removed, and every file is passed through
`scrub` before it is summed: the CLI builds it from the key fingerprint run.json recorded at
the start (engines/secrets.py), so a key is cut out - whole or any 8 characters of it - even
in a shell where its variable is not set. The value of any environment variable the config
names (`*_env`) is cut out too, when it is set.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated

import msgspec

from evalcli.errors import RunError
from evalcli.store.fsutil import atomic_write_bytes, utc_now
from evalcli.store.lock import live_holder
from evalcli.store.manifest import newer_schema
from evalcli.store.rundir import RunDir, validate_run_id

FORMAT = "evalcli-run-archive"
VERSION = 1
MANIFEST_NAME = "archive-manifest.json"
SUFFIX = ".evalcli.zip"
TOP_FILES = ("run.json", "items.jsonl", "events.jsonl", "report.md", "report.html")
TRIAL_FILES = ("results.jsonl", "predictions.csv", "per_item_scores.csv", "significance.json",
               "costs.json")
REDACTED = "<redacted>"
_SECRET_KEY = re.compile(r"(api_?key|token|secret|password|passwd|authorization)", re.I)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)


def run_files(rd: RunDir) -> list[str]:
    """The run's artifacts, as archive-relative POSIX names (never run.lock, STOP or temps)."""
    names = [n for n in TOP_FILES if (rd.root / n).is_file()]
    if rd.logs.is_dir():
        names += sorted(f"logs/{p.name}" for p in rd.logs.iterdir()
                        if p.is_file() and p.suffix == ".log")
    trials = rd.root / "trials"
    if trials.is_dir():
        for trial in sorted(p for p in trials.iterdir() if p.is_dir()):
            names += [f"trials/{trial.name}/{n}" for n in TRIAL_FILES if (trial / n).is_file()]
    return names


def _scrub_config(value, key: str = ""):
    if isinstance(value, dict):
        return {k: _scrub_config(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_config(v, key) for v in value]
    if isinstance(value, str):
        if _SECRET_KEY.search(key) and not key.endswith("_env") and value:
            return REDACTED
        return _URL_USERINFO.sub(r"\g<scheme>", value)
    return value


def _env_secrets(config: dict) -> list[bytes]:
    """Values of the environment variables the config names (`api_key_env` and the like)."""
    names: list[str] = []

    def walk(value, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key.endswith("_env") and value:
            names.append(value)

    walk(config)
    return [os.environ[n].encode("utf-8") for n in names if len(os.environ.get(n, "")) >= 4]


def create_archive(rd: RunDir, out: Path,
                   scrub: Callable[[dict, bytes], bytes] | None = None) -> dict:
    """Write the run's archive to `out` (atomically); returns the archive manifest.
    `scrub(run_json, data)`: a file's bytes with every secret the run recorded cut out."""
    holder = live_holder(rd.lock_file)
    if holder is not None:
        raise RunError(f"run {rd.run_id} is running (process {holder}) — archive it when it "
                       f"has finished, or stop it first with: evalcli stop {rd.run_id}")
    if not rd.manifest.is_file():
        raise RunError(f"{rd.manifest}: missing — {rd.root} is not a complete run directory")
    try:
        run_json = json.loads(rd.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise RunError(f"{rd.manifest}: cannot be read ({exc})") from None
    if not isinstance(run_json, dict):
        raise RunError(f"{rd.manifest}: cannot be read (a JSON {type(run_json).__name__}, not "
                       "a run manifest object) — restore run.json from a copy")
    newer = newer_schema(run_json.get("schema_version"))
    if newer:  # its secrets may be recorded in a way this version cannot cut out
        raise RunError(f"{rd.manifest}: cannot be read ({newer})")
    secrets = _env_secrets(run_json.get("config", {}))
    blobs: dict[str, bytes] = {}
    redacted: list[str] = []
    for name in run_files(rd):
        data = (rd.root / name).read_bytes()
        if name == "run.json":
            data = json.dumps(_scrub_config(run_json), indent=2, ensure_ascii=False).encode()
        for secret in secrets:
            if secret in data:
                data = data.replace(secret, REDACTED.encode())
                redacted.append(name)
        if scrub is not None:
            scrubbed = scrub(run_json, data)
            if scrubbed != data:
                data = scrubbed
                redacted.append(name)
        blobs[name] = data
    manifest = {
        "format": FORMAT, "version": VERSION, "run_id": rd.run_id, "created_at": utc_now(),
        "run_status": run_json.get("status", ""),
        "files": {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                  for n, b in blobs.items()},
        "redacted": sorted(set(redacted)),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{rd.run_id}/{MANIFEST_NAME}",
                    json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        for name, data in blobs.items():
            zf.writestr(f"{rd.run_id}/{name}", data)
    atomic_write_bytes(out, buffer.getvalue())
    return manifest


@dataclass
class ArchiveCheck:
    path: Path
    run_id: str = ""
    files: int = 0
    manifest_sha256: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def is_archive(path: Path) -> bool:
    try:
        return Path(path).is_file() and zipfile.is_zipfile(path)
    except (OSError, ValueError):  # a name too long for a path, a NUL in it, ...
        return False


def _safe(name: str) -> bool:
    p = PurePosixPath(name)
    return (not p.is_absolute() and ".." not in p.parts and "\\" not in name
            and ":" not in name and bool(p.parts))


# members are read in blocks and never past what the manifest lists: memory stays at one
# block whatever an archive claims (a 1 MB zip can hold a member that inflates to 1 GiB)
_BLOCK = 1 << 20
MAX_MANIFEST_BYTES = 64 << 20
# what zipfile raises on damaged bytes (struct.error: a record cut short)
_DAMAGED = (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, RuntimeError,
            NotImplementedError, struct.error)


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _DAMAGED as exc:  # e.g. a version field damaged: NotImplementedError from zipfile
        raise RunError(f"{path}: not a readable evalcli archive ({exc})") from None


class ListedFile(msgspec.Struct, frozen=True):
    sha256: str
    size: Annotated[int, msgspec.Meta(ge=0)]


class ArchiveManifest(msgspec.Struct, frozen=True, kw_only=True):
    """archive-manifest.json, decoded at the edge (a wrong shape is one RunError line)."""

    run_id: str
    files: dict[str, ListedFile]
    format: str = ""
    version: int = 0
    created_at: str = ""
    run_status: str = ""
    redacted: list[str] = []


def _read_capped(zf: zipfile.ZipFile, member: str, cap: int) -> bytes | None:
    """A member's bytes, or None when it inflates past `cap`."""
    with zf.open(member) as fh:
        data = fh.read(cap + 1)
    return None if len(data) > cap else data


def _member_sum(zf: zipfile.ZipFile, member: str, size: int) -> tuple[str, int]:
    """(sha256, bytes read) of a member, streamed, reading at most `size` + 1 bytes."""
    digest, read = hashlib.sha256(), 0
    with zf.open(member) as fh:
        while read <= size and (block := fh.read(min(_BLOCK, size + 1 - read))):
            digest.update(block)
            read += len(block)
    return digest.hexdigest(), read


def verify_archive(path: Path) -> ArchiveCheck:
    """Check every member against the archive manifest (a problem list, never an exception
    for a damaged member: the caller says what is wrong). Members are streamed, and none is
    read past the size the manifest lists for it."""
    path = Path(path)
    check = ArchiveCheck(path)
    with _open(path) as zf:
        names = zf.namelist()
        manifests = [n for n in names if n.count("/") == 1 and n.endswith("/" + MANIFEST_NAME)]
        if len(manifests) != 1:
            raise RunError(f"{path}: no {MANIFEST_NAME} in it — not an archive made by "
                           "evalcli archive")
        top = manifests[0].split("/")[0]
        try:
            raw = _read_capped(zf, manifests[0], MAX_MANIFEST_BYTES)
        except _DAMAGED as exc:
            raise RunError(f"{path}: {MANIFEST_NAME} cannot be read ({exc}) — the archive "
                           "is damaged") from None
        if raw is None:
            raise RunError(f"{path}: {MANIFEST_NAME} is larger than "
                           f"{MAX_MANIFEST_BYTES >> 20} MiB — not an archive made by "
                           "evalcli archive")
        check.manifest_sha256 = hashlib.sha256(raw).hexdigest()
        try:
            manifest = msgspec.json.decode(raw, type=ArchiveManifest)
            check.run_id = validate_run_id(manifest.run_id)
        except (msgspec.DecodeError, RecursionError, RunError) as exc:
            why = exc.message if isinstance(exc, RunError) else \
                "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise RunError(f"{path}: {MANIFEST_NAME} cannot be read ({why}) — not an "
                           "archive made by evalcli archive, or a damaged one") from None
        listed = manifest.files
        if manifest.format != FORMAT:
            check.problems.append(f"{MANIFEST_NAME}: format is not {FORMAT}")
        if top != check.run_id:
            check.problems.append(f"folder {top!r} does not match run id {check.run_id!r}")
        present = {n[len(top) + 1:]: n for n in names
                   if n.startswith(top + "/") and n != manifests[0] and not n.endswith("/")}
        for name in names:
            if not _safe(name) or not name.startswith(top + "/"):
                check.problems.append(f"unsafe or stray member name {name!r}")
        check.problems += [f"member {name!r} is in the archive twice" for name, times in
                           sorted(Counter(names).items()) if times > 1]
        for name, meta in listed.items():
            if not _safe(name):
                check.problems.append(f"unsafe file name in the manifest: {name!r}")
                continue
            member = present.pop(name, None)
            if member is None:
                check.problems.append(f"{name}: missing")
                continue
            size = zf.getinfo(member).file_size
            if size != meta.size:  # changed, seen without reading it
                check.problems.append(f"{name}: sha256 differs from the manifest (changed: "
                                      f"{size:,} bytes, listed {meta.size:,})")
                continue
            try:
                digest, read = _member_sum(zf, member, meta.size)
            except _DAMAGED as exc:  # CRC error, damaged deflate data, bad header
                check.problems.append(f"{name}: cannot be read ({' '.join(str(exc).split())})")
                continue
            if read != meta.size:  # the zip's own header lied about the size
                check.problems.append(f"{name}: size differs from the manifest")
            elif digest != meta.sha256:
                check.problems.append(f"{name}: sha256 differs from the manifest (changed)")
        check.problems += [f"{name}: not in the manifest (added)" for name in sorted(present)]
        check.files = len(listed)
    return check


def extract_run(path: Path, dest: Path) -> RunDir:
    """Verify the archive, then unpack its run into dest/<run-id>; RunError when it fails."""
    check = verify_archive(path)
    if not check.ok:
        raise RunError(f"{path}: fails verification ({check.problems[0]}"
                       + (f"; {len(check.problems) - 1} more" if len(check.problems) > 1 else "")
                       + f") — see: evalcli verify {path}")
    rd = RunDir(dest, check.run_id)
    with _open(path) as zf:
        for name in zf.namelist():
            if name.endswith("/"):
                continue
            target = rd.root.parent / PurePosixPath(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            # streamed: verified members hold exactly their listed size
            with zf.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, _BLOCK)
    return rd


def default_out(rd: RunDir) -> Path:
    return Path.cwd() / f"{rd.run_id}{SUFFIX}"
