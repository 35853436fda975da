"""The console a Windows user really has: output redirected to a file in a legacy code page
(cp1252), and Ctrl+Break as well as Ctrl+C.

    PYTHONIOENCODING=cp1252, stdout/stderr -> files: run, show, resume, doctor, doctor --report
    Ctrl+Break (SIGBREAK): Windows for real (CTRL_BREAK_EVENT to a new process group);
                           elsewhere the same code path with SIGBREAK aliased to SIGUSR1
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import events as run_events
from tests.helpers import result_lines, wait_until, write_profile

CP1252 = {"PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"}


def _redirected(args: list[str], cwd: Path, tmp_path: Path, name: str) -> tuple[int, str, str]:
    """Run the CLI with stdout and stderr going to real files, as `> out.txt 2> err.txt`."""
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        code = subprocess.run([sys.executable, "-m", "evalcli", *map(str, args)], cwd=cwd,
                              stdout=fo, stderr=fe, timeout=300,
                              env={**os.environ, **CP1252}).returncode
    return code, out.read_bytes().decode("cp1252"), err.read_bytes().decode("cp1252")


def test_cp1252_redirected_run_resume_show_doctor(tmp_path):
    code, out, err = _redirected(["run", "--dry-run", "--limit-items", "3", "--run-id", "c"],
                                 tmp_path, tmp_path, "run")
    assert code == 0, err
    assert "UnicodeEncodeError" not in err and "Traceback" not in err, err
    assert "run id: c" in out
    manifest = json.loads((tmp_path / "runs" / "c" / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed"
    for name, args in (("show", ["show", "c"]), ("resume", ["resume", "c"]),
                       ("doctor", ["doctor"]), ("report", ["doctor", "--report"])):
        code, out, err = _redirected(args, tmp_path, tmp_path, name)
        assert "Traceback" not in err and "UnicodeEncodeError" not in err, (name, err)
        assert code in ((0, 1) if name in ("doctor", "report") else (0,)), (name, code, err)
        assert out.strip(), name
    code, out, _ = _redirected(["doctor"], tmp_path, tmp_path, "doctor")
    assert "evalcli " in out.splitlines()[0]  # the version line comes first
    assert max(len(line) for line in out.splitlines()) <= 80  # piped: 80 columns


# On POSIX there is no SIGBREAK: alias it to SIGUSR1 before evalcli is imported, so the
# supervisor's Windows branch (CONSOLE_INTERRUPTS includes SIGBREAK) runs here as well.
ALIASED = ("import signal, sys; signal.SIGBREAK = signal.SIGUSR1; "
           "from evalcli.__main__ import main; sys.argv[0] = 'evalcli'; main()")


@pytest.mark.parametrize("twice", [False, True])
def test_ctrl_break_stops_like_ctrl_c(tmp_path, twice):
    # each worker answers 1 unit, then holds its next one at the gate: the signals land while
    # both are busy, and the second is sent only once the first has been acted on ("stopping")
    gate = tmp_path / "gate"
    profile = write_profile(tmp_path / "slow.toml", workers=2,
                            options={"gate_file": str(gate), "gate_after": 1})
    root = tmp_path / "runs" / "b"
    args = ["run", "--profile", str(profile), "--limit-items", "6", "--runs-dir",
            str(tmp_path / "runs"), "--run-id", "b"]
    if sys.platform == "win32":
        proc = subprocess.Popen([sys.executable, "-m", "evalcli", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
        sig = signal.CTRL_BREAK_EVENT
    else:
        proc = subprocess.Popen([sys.executable, "-c", ALIASED, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sig = signal.SIGUSR1
    try:
        wait_until(lambda: result_lines(root) >= 2, "2 results (both workers at the gate)")
        proc.send_signal(sig)
        wait_until(lambda: any(e["event"] == "stopping" for e in run_events(root)),
                   "the first Ctrl+Break to be acted on")
        if twice:  # the second Ctrl+Break stops now, with the units still held at the gate
            proc.send_signal(sig)
        else:  # the first lets the units in flight finish
            gate.touch()
        _, err = proc.communicate(timeout=120)
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "resume with: evalcli resume b" in err, err
    manifest = json.loads((root / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "stopped"
    events = (root / "events.jsonl").read_text(encoding="utf-8")
    assert ('"stop_now"' in events) == twice
