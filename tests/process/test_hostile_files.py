"""Issue #26's reproductions: every file evalcli reads, damaged the way a user or a disk
damages it, ends with one line naming the file (and the line), the right exit code, and no
traceback. The CLI runs in this process (tests/cli_inprocess.py); one mock run is made per
module and copied for each case."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import pytest

from tests.cli_inprocess import evalcli_here


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """runs/base: a finished mock run (3 items per source, 1 worker)."""
    root = tmp_path_factory.mktemp("hostile")
    runs = root / "runs"
    code, out, err = evalcli_here("run", "-p", "mock", "--limit-items", "3", "--workers", "1",
                                  "--runs-dir", runs, "--run-id", "base")
    assert code == 0, err
    return runs / "base"


@pytest.fixture
def runs(tmp_path, base_run) -> Path:
    runs = tmp_path / "runs"
    shutil.copytree(base_run, runs / "base")
    return runs


def _one_line(code: int, err: str, expected_code: int, *words: str) -> None:
    assert "Traceback" not in err, err
    assert (code, err.count("\n")) == (expected_code, 1), (code, err)
    assert err.startswith("error: "), err
    for word in words:
        assert word in err, err


def _predictions(runs: Path) -> Path:
    return next((runs / "base" / "trials").glob("*/predictions.csv"))


def _results(runs: Path, run: str = "base") -> Path:
    return next((runs / run / "trials").glob("*/results.jsonl"))


def _analyze(runs: Path, predictions: Path, *more) -> tuple[int, str, str]:
    return evalcli_here("analyze", predictions, "--items", runs / "base" / "items.jsonl",
                        "--out", runs.parent / "out", *more)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_analyze_of_a_predictions_file_not_in_utf8(runs, encoding):
    text = _predictions(runs).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[3] = lines[3].replace(",", ",café ", 1)
    bad = runs.parent / f"{encoding}.csv"
    bad.write_bytes("".join(lines).encode(encoding))
    code, _, err = _analyze(runs, bad)
    _one_line(code, err, 2, str(bad), "UTF-16" if encoding == "utf-16" else "line 4:")


@pytest.mark.parametrize("value", ["1e400", "inf", "nan", "-1e300"])
def test_analyze_of_an_infinite_token_count(runs, value):
    lines = _predictions(runs).read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    column = header.index("prompt_tokens")
    import csv

    rows = list(csv.reader(io.StringIO("".join(lines))))
    rows[2][column] = value
    bad = runs.parent / "big.csv"
    with open(bad, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    code, _, err = _analyze(runs, bad)
    _one_line(code, err, 2, f"{bad} line 3: prompt_tokens = {value}")


def test_analyze_with_out_that_is_a_file(runs):
    (runs.parent / "out").write_text("x")
    code, _, err = _analyze(runs, _predictions(runs))
    _one_line(code, err, 2, "--out", "is a file, not a folder")
    code, _, err = evalcli_here("analyze", _predictions(runs), "--items",
                                runs / "base" / "items.jsonl", "--out", runs.parent / "out" / "x")
    _one_line(code, err, 2, "--out", "cannot create the folder")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_analyze_with_a_read_only_out(runs):
    ro = runs.parent / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = evalcli_here("analyze", _predictions(runs), "--items",
                                    runs / "base" / "items.jsonl", "--out", ro / "x")
    finally:
        ro.chmod(0o755)
    _one_line(code, err, 2, "--out")


def test_a_deeply_nested_json_line_in_items(runs):
    deep = runs.parent / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    code, _, err = evalcli_here("analyze", _predictions(runs), "--items", deep,
                                "--out", runs.parent / "out")
    _one_line(code, err, 2, f"{deep} line 1: JSON nested too deeply")


def test_a_deeply_nested_json_line_in_a_dataset(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"question": "q", "answers": ["a"]}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    profile = tmp_path / "p.toml"
    profile.write_text('[engine]\nname = "mock"\n[[datasets]]\nformat = "jsonl"\n'
                       'path = "data.jsonl"\n', encoding="utf-8")
    code, _, err = evalcli_here("run", "-p", profile, "--runs-dir", tmp_path / "runs")
    _one_line(code, err, 2, "data.jsonl line 2: JSON nested too deeply")
    assert not (tmp_path / "runs").exists()


def test_a_deeply_nested_squad_file(tmp_path):
    data = tmp_path / "squad.json"
    deep = "[" * 100_000 + "]" * 100_000  # in a field evalcli does not read (skipped)
    data.write_text('{"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": '
                    '"c", "qas": [{"id": "1", "question": "q", "answers": [], '
                    f'"is_impossible": true, "extra": {deep}}}]}}]}}]}}')
    profile = tmp_path / "p.toml"
    profile.write_text('[engine]\nname = "mock"\n[[datasets]]\nformat = "squad2"\n'
                       'path = "squad.json"\n', encoding="utf-8")
    code, _, err = evalcli_here("run", "-p", profile, "--runs-dir", tmp_path / "runs")
    _one_line(code, err, 2, "squad.json")
    assert not (tmp_path / "runs").exists()


def test_analyze_with_a_profile_whose_prompt_set_is_a_sweep(runs, tmp_path):
    profile = tmp_path / "sweep.toml"
    profile.write_text('[engine]\nname = "mock"\n[prompts]\nset = ["default", "x.toml"]\n',
                       encoding="utf-8")
    code, _, err = _analyze(runs, _predictions(runs), "--profile", profile)
    _one_line(code, err, 2, "prompts.set is a sweep of 2 prompt sets", "--prompts NAME")
    code, _, err = _analyze(runs, _predictions(runs), "--profile", profile, "--prompts",
                            "default")
    assert code == 0, err


def _archive(runs: Path, tmp_path: Path) -> Path:
    out = tmp_path / "base.evalcli.zip"
    code, _, err = evalcli_here("archive", "base", "--runs-dir", runs, "--out", out)
    assert code == 0, err
    return out


def test_verify_of_one_byte_damaged_archives(runs, tmp_path):
    import random

    data = _archive(runs, tmp_path).read_bytes()
    rng = random.Random(26)
    codes = set()
    for n in range(30):
        damaged = bytearray(data)
        spot = rng.randrange(len(damaged))
        damaged[spot] ^= 1 << rng.randrange(8)
        path = tmp_path / f"d{n}.zip"
        path.write_bytes(damaged)
        code, out, err = evalcli_here("verify", path)
        assert "Traceback" not in err + out, (spot, err)
        if code == 0:  # a byte no member's content depends on (a header's time stamp,
            # a version field): the run's files are intact and verify says so
            assert err == "" and out.startswith("ok: "), (spot, out, err)
        else:
            assert err.count("\n") == 1 and err.startswith("error: "), (spot, err)
        codes.add(code)
    assert codes <= {0, 4}
    assert 4 in codes


def _header_spots(data: bytes) -> list[int]:
    """The offsets of every fixed-size zip record field: the end record, each central
    directory entry and each member's local header (names and contents left out)."""
    end = data.rfind(b"PK\x05\x06")
    spots = list(range(end, end + 22))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    at = struct.unpack("<I", data[end + 16:end + 20])[0]
    for info in infos:
        assert data[at:at + 4] == b"PK\x01\x02"
        spots += range(at, at + 46)
        at += 46 + sum(struct.unpack("<HHH", data[at + 28:at + 34]))
        spots += range(info.header_offset, info.header_offset + 30)
    return spots


def test_verify_of_every_header_field_damaged(runs, tmp_path):
    """Each byte of the zip's own records, one bit flipped (the bit rotating with the
    offset), and each set to 0xFF: verify lists problems or raises one RunError line, never
    another exception. A damaged version field once raised zipfile's NotImplementedError, a
    traceback; the random spots of the test above found it one run in a few."""
    from evalcli.errors import RunError
    from evalcli.store.archive import verify_archive

    data = _archive(runs, tmp_path).read_bytes()
    spots = _header_spots(data)
    path = tmp_path / "damaged.zip"
    outcomes = {"problems": 0, "refused": 0, "intact": 0}
    for spot in spots:
        for value in (data[spot] ^ (1 << spot % 8), 0xFF):
            damaged = bytearray(data)
            damaged[spot] = value
            path.write_bytes(damaged)
            try:
                check = verify_archive(path)
            except RunError as exc:
                assert "\n" not in exc.message and str(path) in exc.message, exc.message
                outcomes["refused"] += 1
            else:
                outcomes["problems" if check.problems else "intact"] += 1
    assert len(spots) > 500 and outcomes["problems"] and outcomes["refused"], outcomes


@pytest.mark.parametrize("manifest", [b"[]", b'"text"', b"1e400", b'{"run_id": "base"}',
                                      b'{"run_id": "base", "files": []}',
                                      b'{"run_id": "base", "files": {"run.json": 1}}',
                                      b'{"run_id": "../x", "files": {}}',
                                      b"[" * 50_000 + b"]" * 50_000])
def test_verify_of_an_archive_whose_manifest_is_not_one(tmp_path, manifest):
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("base/archive-manifest.json", manifest)
    code, _, err = evalcli_here("verify", path)
    _one_line(code, err, 4, f"{path}: archive-manifest.json cannot be read")


def test_verify_streams_members_never_past_their_listed_size(tmp_path):
    """A 1 MB archive whose member inflates to 1 GiB: verify reads it in blocks (the
    issue measured 2.1 GB)."""
    import tracemalloc

    from evalcli.store.archive import verify_archive

    path = tmp_path / "bomb.zip"
    listed = {"run.json": {"sha256": "0" * 64, "size": 256 << 20}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("base/archive-manifest.json",
                    json.dumps({"format": "evalcli-run-archive", "run_id": "base",
                                "files": listed}))
        with zf.open("base/run.json", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(256):
                fh.write(block)
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        check = verify_archive(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert check.problems == ["run.json: sha256 differs from the manifest (changed)"]
    assert peak < 16 << 20, peak


def test_an_unknown_status_in_results_breaks_neither_show_nor_runs(runs):
    shutil.copytree(runs / "base", runs / "good")
    path = _results(runs)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[0])
    record["status"] = "weird"
    lines[0] = json.dumps(record) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    code, out, err = evalcli_here("show", "base", "--runs-dir", runs)
    _one_line(code, err, 4, f"{path} line 1: not a valid result record", "'weird'")
    assert "units:" in out  # the rest of the run is still shown
    code, out, err = evalcli_here("runs", "--runs-dir", runs)
    assert (code, err) == (0, ""), err
    assert "good" in out and f"note: base: {path} line 1" in out


def test_a_wrongly_typed_field_in_results_stops_resume_with_one_line(runs):
    path = _results(runs)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[1])
    record["prompt_tokens"] = "many"
    lines[1] = json.dumps(record) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    code, _, err = evalcli_here("resume", "base", "--runs-dir", runs)
    _one_line(code, err, 4, f"{path} line 2: not a valid result record")


def test_show_with_a_500_character_id(runs):
    code, _, err = evalcli_here("show", "x" * 500, "--runs-dir", runs)
    _one_line(code, err, 4, "at most 120 characters")


def test_resume_after_items_jsonl_was_deleted(runs):
    (runs / "base" / "items.jsonl").unlink()
    code, _, err = evalcli_here("resume", "base", "--runs-dir", runs)
    _one_line(code, err, 2, "items.jsonl: cannot be read", "restore items.jsonl")


@pytest.mark.parametrize("content", ["[]", '"x"', "1e400", "[" * 50_000 + "]" * 50_000, "\xff"])
def test_a_run_json_that_is_not_a_manifest(runs, tmp_path, content):
    (runs / "base" / "run.json").write_bytes(content.encode("latin-1"))
    for args in (["archive", "base", "--out", tmp_path / "a.zip"], ["show", "base"],
                 ["resume", "base"]):
        code, _, err = evalcli_here(*args, "--runs-dir", runs)
        _one_line(code, err, 4, "run.json")
    code, out, err = evalcli_here("runs", "--runs-dir", runs)
    assert (code, err) == (0, "") and "unreadable" in out


def test_a_run_json_from_a_newer_evalcli_is_refused_and_kept(runs, tmp_path):
    """A newer schema_version is not read as if it were this one's (and resume would
    overwrite what it cannot know): one line naming the file and the fix; the file is kept."""
    path = runs / "base" / "run.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["schema_version"] = 99
    path.write_text(json.dumps(manifest), encoding="utf-8")
    before = path.read_bytes()
    for args in (["show", "base"], ["resume", "base"],
                 ["archive", "base", "--out", tmp_path / "a.zip"]):
        code, _, err = evalcli_here(*args, "--runs-dir", runs)
        _one_line(code, err, 4, "run.json", "schema_version 99", "upgrade evalcli")
    assert path.read_bytes() == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_while_taking_the_run_lock(runs):
    lock = runs / "base" / "run.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to("/dev/full")
    code, _, err = evalcli_here("resume", "base", "--runs-dir", runs)
    _one_line(code, err, 4, "cannot write", "run.lock")


def test_a_huge_cell_quoted_in_an_error_stays_one_short_line(runs):
    """A 2 MB custom_id is quoted by the message that refuses it: clipped, not printed whole."""
    lines = _predictions(runs).read_text(encoding="utf-8").splitlines(keepends=True)
    bad = runs.parent / "huge.csv"
    bad.write_text(lines[0] + "x" * 2_000_000 + "\n", encoding="utf-8")
    code, _, err = _analyze(runs, bad)
    _one_line(code, err, 2, f"{bad} line 2: custom_id", "characters)", "sample_index|type")
    assert len(err) < 5000, len(err)


def test_a_stop_file_that_cannot_be_removed_stops_resume_with_one_line(runs):
    """A folder named STOP (or, on Windows, a STOP file another program holds open)."""
    (runs / "base" / "STOP").mkdir()
    code, _, err = evalcli_here("resume", "base", "--runs-dir", runs)
    _one_line(code, err, 4, "cannot remove", "STOP", "remove it by hand")
