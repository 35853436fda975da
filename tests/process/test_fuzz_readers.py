"""A seeded mutation fuzz over every file evalcli reads: predictions.csv, items.jsonl, dataset
files, results.jsonl, run.json and run archives.

Each case takes a real file, damages it (bit flips, cuts, inserted bytes, numbers made
huge / infinite / nan, values nested 5,000 deep, unknown status words, other encodings, a
BOM, a NUL) and hands it to the reader the CLI uses, in this process. A reader may accept
the file or refuse it with an EvalcliError (one line, an exit code); anything else escaping
is a finding: the test fails naming the target, the seed, the case and the mutations. It also
checks that nothing is written outside the output folder and that archive checks stay within
a memory bound. Deterministic (fixed seeds), ~20-40 s on 2 cores; FUZZ_CASES=N scales it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from evalcli.errors import EvalcliError
from tests.cli_inprocess import evalcli_here

SCALE = float(os.environ.get("FUZZ_CASES", "1"))
DATA = Path(__file__).parent.parent / "unit" / "data"

_NUMBER = re.compile(rb"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_WORD = re.compile(rb'"(ok|failed|completed|open|closed|control|treatment)"|\b(ok|failed)\b')
_STRING = re.compile(rb'"[^"\\\n]{0,40}"')
HOSTILE_NUMBERS = [b"1e400", b"-1e400", b"nan", b"inf", b"NaN", b"99999999999999999999999999",
                   b"-1", b"0", b"1e15", b"1.5", b'"7"', b"null", b"[]", b"{}"]


def _deep(n: int = 5000) -> bytes:
    return b"[" * n + b"]" * n


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """1-3 damaging edits of `data`, and what they were (for a failure message)."""
    done: list[str] = []
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(12)
        n = len(data)
        if op == 0 and n:
            i = rng.randrange(n)
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
            done.append(f"flip byte {i}")
        elif op == 1:
            i = rng.randrange(n + 1)
            data = data[:i]
            done.append(f"cut at {i}")
        elif op == 2:
            i = rng.randrange(n + 1)
            junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            data = data[:i] + junk + data[i:]
            done.append(f"insert {junk!r} at {i}")
        elif op == 3 and (spots := list(_NUMBER.finditer(data))):
            m = rng.choice(spots)
            new = rng.choice(HOSTILE_NUMBERS)
            data = data[:m.start()] + new + data[m.end():]
            done.append(f"number at {m.start()} -> {new!r}")
        elif op == 4 and (spots := list(_STRING.finditer(data))):
            m = rng.choice(spots)
            new = rng.choice([_deep(), b"[1, 2]", b"{}", b"123", b"null", b'"' + b"x" * 5000 + b'"'])
            data = data[:m.start()] + new + data[m.end():]
            done.append(f"string at {m.start()} -> {new[:12]!r}...")
        elif op == 5 and (spots := list(_WORD.finditer(data))):
            m = rng.choice(spots)
            new = rng.choice([b'"weird"', b'"OK"', b'""', b"weird", b'"pending"'])
            data = data[:m.start()] + new + data[m.end():]
            done.append(f"word at {m.start()} -> {new!r}")
        elif op == 6:
            enc = rng.choice(["utf-16", "cp1252", "utf-16-be"])
            text = data.decode("utf-8", "replace").replace("e", "é", 3)
            data = text.encode(enc, "replace")
            done.append(f"re-encoded as {enc}")
        elif op == 7:
            data = b"\xef\xbb\xbf" + data
            done.append("BOM")
        elif op == 8 and n:
            i = rng.randrange(n)
            data = data[:i] + b"\x00" + data[i:]
            done.append(f"NUL at {i}")
        elif op == 9 and (lines := data.splitlines(keepends=True)):
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"".join(lines)
            done.append(f"line {i + 1} twice")
        elif op == 10 and (lines := data.splitlines(keepends=True)):
            i = rng.randrange(len(lines))
            lines[i] = _deep() + b"\n"
            data = b"".join(lines)
            done.append(f"line {i + 1} nested 5000 deep")
        elif op == 11:
            data = data.replace(b"\n", b"\r\n") if rng.random() < 0.5 else data.replace(b",", b";")
            done.append("line ends / separators")
    return data, done


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def fuzz(name: str, seed: int, cases: int, original: bytes, target: Path,
         read: Callable[[], object], workdir: Path, out: Path | None = None) -> int:
    """Write `cases` mutants of `original` to `target` and call `read` on each. Returns how
    many were refused (EvalcliError)."""
    rng = random.Random(seed)
    refused = 0
    target.write_bytes(original)
    before = _files(workdir)
    for case in range(max(1, int(cases * SCALE))):
        data, edits = mutate(original, rng)
        target.write_bytes(data)
        try:
            read()
        except EvalcliError as exc:
            refused += 1
            assert "\n" not in exc.message, (name, case, edits, exc.message)
        except Exception as exc:  # noqa: BLE001 - a finding
            keep = workdir.parent / f"finding-{name}-{seed}-{case}.bin"
            keep.write_bytes(data)
            raise AssertionError(f"{name} seed {seed} case {case} {edits}: "
                                 f"{type(exc).__name__}: {exc} (input kept in {keep})") from exc
        if out is not None and out.exists():
            shutil.rmtree(out)
        stray = {p for p in _files(workdir) - before
                 if out is None or (p != out and out not in p.parents)}
        assert not stray, (name, case, edits, sorted(map(str, stray))[:5])
    return refused


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    code, _, err = evalcli_here("run", "-p", "mock", "--limit-items", "4", "--workers", "1",
                                "--runs-dir", root / "runs", "--run-id", "base")
    assert code == 0, err
    _fix_varying_bytes(root / "runs" / "base")
    return root / "runs" / "base"


def _fix_varying_bytes(run: Path) -> None:
    """The same bytes on every run of the test: a mutation lands on the same place each
    time (request ids, timings, timestamps, pids and versions differ from run to run)."""
    import csv
    import json

    for results in run.glob("trials/*/results.jsonl"):
        lines = [json.loads(line) for line in results.read_text("utf-8").splitlines()]
        for i, rec in enumerate(lines):
            rec.update(request_id=f"req-{i:04d}", latency_ms=12.5, finished_at=_AT,
                       started_at=1700000000.0 + i, ended_at=1700000000.5 + i, timings={})
        results.write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    for predictions in run.glob("trials/*/predictions.csv"):
        with open(predictions, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            columns, rows = reader.fieldnames or [], list(reader)
        for i, row in enumerate(rows):
            row.update(request_id=f"req-{i:04d}", latency_ms="12.5",
                       started_at=f"{1700000000.0 + i}", ended_at=f"{1700000000.5 + i}",
                       cpu_ms="3.25")
        with open(predictions, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, columns)
            writer.writeheader()
            writer.writerows(rows)
    manifest = json.loads((run / "run.json").read_text("utf-8"))
    manifest.update(created_at=_AT, updated_at=_AT, pid=1,
                    environment={"python": "3.x", "os": "fuzz", "engine_options": {}})
    for stage in manifest["stages"].values():
        stage.update(started_at=_AT, ended_at=_AT, inputs_hash="", outputs={})
    (run / "run.json").write_text(json.dumps(manifest, indent=2), "utf-8")


_AT = "2026-01-01T00:00:00Z"


@pytest.fixture
def work(tmp_path, base_run) -> Path:
    runs = tmp_path / "runs"
    shutil.copytree(base_run, runs / "base")
    return runs


def _small_stats():
    from evalcli.inputs.config import StatsConfig

    return StatsConfig(bootstrap_samples=20, permutation_samples=20)


def test_fuzz_predictions_csv(work):
    from evalcli.analysis.analyze import analyze

    predictions = next((work / "base" / "trials").glob("*/predictions.csv"))
    original = predictions.read_bytes()
    target, out = work.parent / "predictions.csv", work.parent / "out"
    stats = _small_stats()
    refused = fuzz("predictions.csv", 2601, 60, original, target,
                   lambda: analyze(target, work / "base" / "items.jsonl", out, stats=stats),
                   work.parent, out=out)
    assert 0 < refused < 60 * SCALE


def test_fuzz_items_jsonl(work):
    from evalcli.analysis.analyze import read_items_any
    from evalcli.inputs.items import read_items

    items = work / "base" / "items.jsonl"
    original = items.read_bytes()
    target = work.parent / "items.jsonl"

    def read():
        read_items_any(target)
        read_items(target)

    assert fuzz("items.jsonl", 2602, 200, original, target, read, work.parent) > 0


@pytest.mark.parametrize(("fmt", "name", "columns"), [
    ("jsonl", "generic.jsonl", {}),
    ("csv", "generic.csv", {"item_id": "id", "question": "q", "answers": "gold",
                            "passage": "context", "type": "kind"}),
    ("squad2", "squad2_mini.json", {}),
    ("triviaqa", "triviaqa_mini.json", {}),
    ("nq_open", "nq_open_mini.jsonl", {}),
])
def test_fuzz_dataset_files(tmp_path, fmt, name, columns):
    from evalcli.inputs.datasets import DatasetSource, load_source

    source = DatasetSource(format=fmt, path=name, columns=columns)
    original = (DATA / name).read_bytes()
    target = tmp_path / name
    fuzz(f"dataset {name}", 2603, 60, original, target,
         lambda: load_source(source, tmp_path), tmp_path)


def test_fuzz_results_jsonl(work):
    from evalcli.store.results import LatestResults
    from evalcli.store.rundir import RunDir
    from evalcli.store.runinfo import list_runs, summarize

    rd = RunDir(work, "base")
    results = next((work / "base" / "trials").glob("*/results.jsonl"))
    original = results.read_bytes()

    def read():
        summary = summarize(rd)
        assert [s.run_id for s in list_runs(work)] == ["base"]
        with LatestResults(results) as latest:
            for record in latest.records():
                latest.get(record.custom_id)
        if summary.damaged:
            raise EvalcliError(summary.warnings[0])

    assert fuzz("results.jsonl", 2604, 200, original, results, read, work.parent) > 0


def test_fuzz_run_json(work):
    from evalcli.run.resume import open_run, setup_from_manifest
    from evalcli.store.archive import create_archive
    from evalcli.store.rundir import RunDir
    from evalcli.store.runinfo import list_runs, summarize

    rd = RunDir(work, "base")
    original = rd.manifest.read_bytes()
    out = work.parent / "out"

    def read():
        assert len(list_runs(work)) == 1
        summarize(rd)
        setup_from_manifest(rd, open_run(rd))
        out.mkdir(exist_ok=True)
        create_archive(rd, out / "a.zip")

    fuzz("run.json", 2605, 150, original, rd.manifest, read, work.parent, out=out)


def test_fuzz_archives(work):
    from evalcli.store.archive import create_archive, extract_run, verify_archive

    archive = work.parent / "base.zip"
    create_archive(RunDir_(work), archive)
    original = archive.read_bytes()
    target, out = work.parent / "damaged.zip", work.parent / "out"
    peaks: list[int] = []

    def read():
        tracemalloc.start()
        try:
            verify_archive(target)
            out.mkdir(exist_ok=True)
            extract_run(target, out)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()

    refused = fuzz("archive", 2606, 150, original, target, read, work.parent, out=out)
    assert refused > 0
    assert max(peaks, default=0) < 8 * len(original) + (4 << 20), max(peaks)


def RunDir_(runs: Path):  # noqa: N802
    from evalcli.store.rundir import RunDir

    return RunDir(runs, "base")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_fuzz_zip_members_renamed_and_oversized(work):
    """Zip-level damage the byte mutator rarely makes: members renamed to escape the folder,
    absolute names, duplicates, a member that inflates far past its listed size."""
    from evalcli.store.archive import create_archive, extract_run

    archive = work.parent / "base.zip"
    create_archive(RunDir_(work), archive)
    rng = random.Random(2607)
    names = ["../evil.txt", "/abs.txt", "base/../../up.txt", "other/run.json", "base\\x.txt",
             "C:/x.txt", "base/run.json", "base/archive-manifest.json"]
    for case in range(int(40 * SCALE)):
        damaged = work.parent / f"z{case}.zip"
        with zipfile.ZipFile(archive) as src, zipfile.ZipFile(damaged, "w",
                                                               zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if rng.random() < 0.2:
                    info.filename = rng.choice(names)
                if rng.random() < 0.1:
                    data = bytes(8 << 20)
                dst.writestr(info, data)
        out = work.parent / f"out{case}"
        out.mkdir()
        try:
            extract_run(damaged, out)
        except EvalcliError:
            pass
        assert not any((work.parent / p).exists() for p in ("evil.txt", "up.txt", "abs.txt"))
        assert all(out in p.parents for p in _files(out))


def test_a_handful_of_real_cli_runs(work, tmp_path):
    """The same readers through the real command line (a child process each)."""
    from tests.helpers import evalcli

    predictions = next((work / "base" / "trials").glob("*/predictions.csv"))
    bad = tmp_path / "p.csv"
    bad.write_bytes(predictions.read_bytes().decode().encode("utf-16"))
    results = next((work / "base" / "trials").glob("*/results.jsonl"))
    results.write_bytes(results.read_bytes().replace(b'"ok"', b'"weird"', 1))
    cases = [
        (["analyze", bad, "--items", work / "base" / "items.jsonl", "--out", tmp_path / "o"], 2),
        (["show", "base", "--runs-dir", work], 4),
        (["runs", "--runs-dir", work], 0),
        (["verify", bad], 4),
    ]
    for args, code in cases:
        result = evalcli(*args)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == code, (args, result.stderr)
        assert result.stderr.count("\n") == (0 if code == 0 else 1), result.stderr
