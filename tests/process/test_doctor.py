"""`evalcli doctor`: the real CLI in a child process (JSON, exit codes, engine preflight
against a dead port, a bad profile), plus the crash classifier and the budget verdicts."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import types

import pytest

from evalcli.doctor import Context, checks_python
from evalcli.doctor.checks_gpu import vram_verdict
from evalcli.doctor.checks_llama import classify_child_failure, summarize_system_info
from tests.gguf_stub import write_gguf_stub
from tests.helpers import evalcli, write_profile


def _doctor(*args, cwd=None, env=None):
    result = evalcli("doctor", "--json", *args, cwd=cwd, timeout=120, env=env)
    assert result.returncode in (0, 1), (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    checks = json.loads(result.stdout)
    assert isinstance(checks, list) and checks
    for check in checks:
        assert set(check) == {"name", "status", "detail", "fix"}, check
        assert check["status"] in ("ok", "warn", "fail", "skip"), check
        assert check["name"] and check["detail"], check
        if check["status"] in ("fail", "warn"):  # every problem comes with its fix
            assert check["fix"] and "<" not in check["fix"] and "\n" not in check["fix"], check
    by_name = {c["name"]: c for c in checks}
    assert len(by_name) == len(checks), "check names must be unique"
    expected_rc = 1 if any(c["status"] == "fail" for c in checks) else 0
    assert result.returncode == expected_rc, (result.returncode, checks)
    return result, by_name


def _dead_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_doctor_json_machine_checks(tmp_path, machine):
    _, checks = _doctor("--profile", "mock", "--runs-dir", tmp_path / "runs", cwd=tmp_path,
                        env=machine)
    assert checks["python"]["status"] == "ok", checks["python"]
    assert checks["project packages"]["status"] == "ok", checks["project packages"]
    spawn = checks["spawn round-trip"]
    assert spawn["status"] == "ok", spawn
    assert "1.0 MiB echo" in spawn["detail"]
    disk = checks["disk"]  # the real drive's free space: ok, or warn below 2 GiB
    assert disk["status"] in ("ok", "warn") and str(tmp_path / "runs") in disk["detail"], disk
    tiktoken = checks["tiktoken offline"]  # an empty cache folder: informational, ok
    assert tiktoken["status"] == "ok" and "cl100k_base not cached" in tiktoken["detail"]
    assert machine["TIKTOKEN_CACHE_DIR"] in tiktoken["detail"], tiktoken
    for name in ("windows: vc++ runtime", "windows: nvml.dll", "windows: long paths"):
        assert (checks[name]["status"] == "skip") == (sys.platform != "win32"), checks[name]
    if sys.platform == "win32":  # the stand-in NVML answers: nvml.dll is found or loaded
        assert checks["windows: nvml.dll"]["status"] == "ok", checks["windows: nvml.dll"]
    gpu = checks["nvidia gpu"]  # the stand-in NVML's one GPU
    assert gpu["status"] == "ok", gpu
    assert "driver 560.35.03, CUDA 12.6" in gpu["detail"] and "RTX 4090" in gpu["detail"]


def test_doctor_without_profile_checks_what_run_would_use(tmp_path, monkeypatch):
    """`evalcli run` defaults to $EVALCLI_PROFILE, else local-llamacpp: so does doctor."""
    monkeypatch.delenv("EVALCLI_PROFILE", raising=False)
    cache = {"EVALCLI_CACHE_DIR": str(tmp_path / "cache")}  # the demo model: not assembled
    _, checks = _doctor("--runs-dir", tmp_path / "runs", cwd=tmp_path, env=cache)
    assert checks["profile"]["status"] == "ok", checks["profile"]
    assert checks["profile"]["detail"].startswith("bundled:local-llamacpp: engine llama_cpp")
    smoke = checks["llama.cpp smoke load"]["detail"]
    assert "no model to load" not in smoke, smoke
    _, checks = _doctor("--runs-dir", tmp_path / "runs", cwd=tmp_path,
                        env={**cache, "EVALCLI_PROFILE": "mock"})
    assert checks["profile"]["detail"].startswith("bundled:mock"), checks["profile"]


def test_piped_text_never_cuts_a_detail_or_a_fix(tmp_path, machine):
    """Piped (80 columns), every row's whole detail and fix are in the text, only wrapped."""
    port = _dead_port()
    profile = write_profile(tmp_path / "ollama.toml", engine="ollama", workers=1,
                            options={"model": "llama3.1:8b",
                                     "base_url": f"http://127.0.0.1:{port}"})
    args = ("--profile", profile, "--runs-dir", tmp_path / "runs")
    _, checks = _doctor(*args, cwd=tmp_path, env=machine)
    text = evalcli("doctor", *args, cwd=tmp_path, timeout=120, env={**machine, "COLUMNS": "80"})
    assert "Traceback" not in text.stderr, text.stderr
    def norm(value: str) -> str:  # timings differ between the two runs
        return re.sub(r"\d+", "0", " ".join(value.split()))

    flat = norm(text.stdout)
    assert any(len(c["detail"]) > 80 for c in checks.values())  # something had to wrap
    for check in checks.values():
        assert norm(check["detail"]) in flat, check["detail"]
        assert check["fix"] in text.stdout, check["fix"]  # the fix: one line, never wrapped
    assert flat.count("ollama serve") == 1, text.stdout  # said once, as the fix


def test_doctor_mock_profile_engine_ok(tmp_path):
    _, checks = _doctor("--profile", "mock", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert checks["profile"]["status"] == "ok", checks["profile"]
    assert checks["engine"]["status"] == "ok", checks["engine"]
    assert checks["engine"]["detail"].startswith("mock")


def test_doctor_dead_ollama_fails_with_advice(tmp_path):
    port = _dead_port()
    profile = write_profile(tmp_path / "ollama.toml", engine="ollama", workers=1,
                            options={"model": "llama3.1:8b",
                                     "base_url": f"http://127.0.0.1:{port}"})
    result, checks = _doctor("--profile", profile, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    engine = checks["engine"]
    assert engine["status"] == "fail", engine
    assert engine["fix"] == "ollama serve" and "ollama serve" not in engine["detail"], engine
    assert str(port) in engine["detail"] and "not reachable" in engine["detail"]
    assert result.returncode == 1
    assert checks["ollama address"]["status"] == "ok"


def test_doctor_ollama_localhost_warns(tmp_path):
    profile = write_profile(tmp_path / "ollama.toml", engine="ollama", workers=1,
                            options={"model": "m", "base_url": f"http://localhost:{_dead_port()}"})
    ctx = Context.build(str(profile))
    from evalcli.doctor.checks_engines import check_ollama_address

    check = check_ollama_address(ctx)
    assert check.status == "warn" and "127.0.0.1" in check.fix
    port = profile.read_text(encoding="utf-8").split("localhost:")[1].split('"')[0]
    assert f"http://127.0.0.1:{port}" in check.fix  # the user's port is kept


def test_doctor_bad_profile_names_the_key(tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text('[engine]\nname = "mock"\nworkerz = 2\n', encoding="utf-8")
    result, checks = _doctor("--profile", profile, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert result.returncode == 1
    bad = checks["profile"]
    assert bad["status"] == "fail"
    assert "engine.workerz" in bad["detail"] and str(profile) in bad["detail"]
    assert "\n" not in bad["detail"]
    assert checks["engine"]["status"] == "skip"


def test_doctor_model_that_is_not_gguf_fails(tmp_path, machine_with_llama):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    result, checks = _doctor("--model", fake, "--runs-dir", tmp_path / "runs", cwd=tmp_path,
                             env=machine_with_llama)
    llama = checks["llama-cpp-python"]  # the stand-in: importable, GPU offload
    assert llama["status"] == "ok" and llama["detail"].startswith("0.3.16 (import"), llama
    smoke = checks["llama.cpp smoke load"]
    assert smoke["status"] == "fail" and "not a GGUF" in smoke["detail"], smoke
    assert str(fake) in smoke["detail"] and smoke["fix"]
    assert result.returncode == 1


def test_smoke_load_skips_when_llama_cpp_is_not_installed(tmp_path, monkeypatch):
    from evalcli.doctor import checks_llama
    from evalcli.doctor.cuda import WheelBuild
    from evalcli.doctor.smoke import check_smoke

    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    monkeypatch.setattr(checks_llama, "installed_build", lambda: WheelBuild(None))
    ctx = Context(model_arg=fake)
    llama = checks_llama.check_llama(ctx)  # --model asks for it: not installed is a failure
    assert llama.status == "fail" and "not installed" in llama.detail, llama
    assert "llama-cpp-python==" in llama.fix, llama
    smoke = check_smoke(ctx)
    assert smoke.status == "skip" and "not usable" in smoke.detail, smoke


def test_table_output_and_exit_code(tmp_path, machine_with_llama):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    result = evalcli("doctor", "--model", fake, "--runs-dir", tmp_path / "runs", cwd=tmp_path,
                     timeout=120, env=machine_with_llama)
    assert result.returncode == 1, (result.stdout, result.stderr)  # the smoke load fails
    problems, _, passed = result.stdout.partition("checks that passed or did not apply:")
    assert "problem(s):" in problems and passed, result.stdout
    assert "\nFAIL  llama.cpp smoke load\n" in problems  # a problem: its name, then details
    flat = " ".join(problems.split())  # details are wrapped to the width; the fix is not
    assert "is not a GGUF file (bad magic) fix: pass --model with the path of a .gguf" in flat
    assert "\nOK    spawn round-trip: " in passed and "\nOK    python: " in passed
    assert "\nOK    llama-cpp-python: 0.3.16" in passed
    fails = problems.count("\nFAIL  ")
    assert fails >= 1 and f"\n{fails} fail, " in passed, result.stdout


# -- the crash classifier on synthetic exits --------------------------------------------------
ILLEGAL_FIX = '-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON'


@pytest.mark.parametrize("returncode", [-4, 0xC000001D, 3221225501, -1073741795])
def test_illegal_instruction_by_exit_code(returncode):
    detail, fix = classify_child_failure(returncode, "", windows=False)
    assert detail.startswith("illegal instruction: this llama.cpp build was made for another CPU")
    assert ILLEGAL_FIX in fix and "--force-reinstall" in fix and "--no-cache-dir" in fix
    assert "llama-cpp-python==0.3." in fix and "AMX" in detail


@pytest.mark.parametrize("stderr", [
    "OSError: [WinError -1073741795] Windows Error 0xc000001d",
    "Fatal Python error: Illegal instruction\n\nCurrent thread 0x1 (most recent call first):",
])
def test_illegal_instruction_by_stderr(stderr):
    detail, fix = classify_child_failure(1, stderr, windows=True)
    assert detail.startswith("illegal instruction")
    # Windows: the prebuilt (portable) CPU wheel, not a source build that needs MSVC
    assert "--only-binary=llama-cpp-python" in fix and fix.endswith("/whl/cpu")


def test_missing_shared_library_advice():
    stderr = ("RuntimeError: Failed to load shared library 'C:\\x\\llama_cpp\\lib\\llama.dll': "
              "Could not find module 'C:\\x\\llama_cpp\\lib\\llama.dll' (or one of its "
              "dependencies). Try using the full path with constructor syntax.")
    detail, fix = classify_child_failure(1, stderr, windows=True)
    assert "could not load llama.dll" in detail and "Microsoft.VCRedist.2015+.x64" in fix
    assert "Try using the full path" not in detail  # the raw message is not repeated
    detail, fix = classify_child_failure(0xC0000135, "", windows=True)
    assert "VCRedist" in fix
    _, fix = classify_child_failure(1, "OSError: libcudart.so.12: cannot open shared object "
                                    "file", windows=False)
    assert "VCRedist" not in fix and "CUDA" in fix and "libcudart.so.12" in fix


def test_other_failures_are_not_called_illegal_instruction():
    for code, err in [(1, "ModuleNotFoundError: No module named 'llama_cpp'"),
                      (-11, "Segmentation fault"), (0xC0000005, ""), (None, "")]:
        detail, _ = classify_child_failure(code, err, windows=False)
        assert not detail.startswith("illegal instruction"), (code, detail)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_real_sigill_child_is_classified():
    code = "import os, signal; os.kill(os.getpid(), signal.SIGILL)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == -signal.SIGILL
    detail, _ = classify_child_failure(proc.returncode, proc.stderr)
    assert detail.startswith("illegal instruction") and "SIGILL" in detail


# -- in-process checks that must be able to fail ----------------------------------------------
def test_shadowed_engines_package_fails(monkeypatch, tmp_path):
    fake = types.ModuleType("engines")
    fake.__file__ = str(tmp_path / "site-packages" / "engines" / "__init__.py")
    monkeypatch.setitem(sys.modules, "engines", fake)
    check = checks_python.check_packages(Context())
    assert check.status == "fail" and "engines" in check.detail
    assert "pip uninstall" in check.fix or "-m venv .venv" in check.fix


def test_vram_verdicts(tmp_path):
    from evalcli.inputs import vram

    gib = 1 << 30
    model = write_gguf_stub(tmp_path / "m.gguf", 4 * gib)  # a Llama-3-8B header

    def plan(workers, layers, free):
        return vram.budget(model, 2048, layers, 512, workers, free)

    assert vram_verdict(plan(1, -1, [24 * gib]), windows=False).status == "ok"
    over = vram_verdict(plan(8, -1, [24 * gib]), windows=False)
    assert over.status == "warn" and over.fix.startswith("set engine.workers = 4"), over
    assert "the run starts only 4" in over.detail and "0.25 GiB KV cache" in over.detail
    none = vram_verdict(plan(1, -1, [2 * gib]), windows=False)
    assert none.status == "fail" and "n_gpu_layers = 0" not in none.fix
    assert vram_verdict(plan(1, -1, [2 * gib]), windows=True).status == "warn"  # sysmem fallback
    assert "slower" in vram_verdict(plan(1, -1, [2 * gib]), windows=True).detail
    assert vram_verdict(plan(1, 8, [2 * gib]), windows=False).status == "ok"  # partial offload
    assert "0.97 GiB weights (8/33 layers) + 0.06 GiB KV cache" in plan(1, 8, [2 * gib]).text()


def test_system_info_summary():
    text = "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : SSE3 = 1 | AVX512 = 0 | AVX2 = 1 | "
    assert summarize_system_info(text) == "CUDA: ARCHS=890 USE_GRAPHS; CPU: SSE3 AVX2"


# -- NVML through the real child probe, with a stand-in pynvml module -------------------------
FAKE_PYNVML = '''
import os
from types import SimpleNamespace


class NVMLError(Exception):
    pass


class NVMLError_LibRmVersionMismatch(NVMLError):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


def nvmlInit():
    mode = os.environ.get("FAKE_NVML", "ok")
    if mode == "mismatch":
        raise NVMLError_LibRmVersionMismatch("RM has detected an NVML/RM version mismatch.")
    if mode == "missing":
        raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")


def nvmlShutdown():
    pass


def nvmlSystemGetDriverVersion():
    return "560.35.03"


def nvmlSystemGetCudaDriverVersion():
    return 12060


def nvmlDeviceGetCount():
    return 1


def nvmlDeviceGetHandleByIndex(index):
    return index


def nvmlDeviceGetName(handle):
    return "NVIDIA GeForce RTX 4090 Laptop GPU"


def nvmlDeviceGetMemoryInfo(handle):
    return SimpleNamespace(total=16 << 30, free=3 << 30, used=13 << 30)


def nvmlDeviceGetCudaComputeCapability(handle):
    return (8, 9)
'''


@pytest.fixture
def fake_nvml(tmp_path, monkeypatch):
    folder = tmp_path / "fake_nvml"
    folder.mkdir()
    (folder / "pynvml.py").write_text(FAKE_PYNVML, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))  # the parent's find_spec sees it
    monkeypatch.setenv("PYTHONPATH", str(folder))  # and so does the probe child
    return monkeypatch


# the stand-in llama-cpp-python: a distribution (what metadata.version reads) and a module
# (what the import probe reads); a smoke load must stop at the file's magic before Llama()
FAKE_LLAMA = '''
__version__ = "0.3.16"


def llama_print_system_info():
    return b"CPU : SSE3 = 1 | AVX2 = 1 | CUDA : ARCHS = 890 | "


def llama_supports_gpu_offload():
    return True


def llama_max_devices():
    return 16


def llama_supports_mmap():
    return True


class Llama:
    def __init__(self, *args, **kwargs):
        raise AssertionError("the stand-in cannot load a model")
'''


def _stand_ins(folder, *, llama: bool) -> None:
    folder.mkdir()
    (folder / "pynvml.py").write_text(FAKE_PYNVML, encoding="utf-8")
    if llama:
        (folder / "llama_cpp").mkdir()
        (folder / "llama_cpp" / "__init__.py").write_text(FAKE_LLAMA, encoding="utf-8")
        dist = folder / "llama_cpp_python-0.3.16.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: llama_cpp_python\n"
                                       "Version: 0.3.16\n", encoding="utf-8")


def _machine_env(tmp_path, *, llama: bool) -> dict:
    """Environment for a doctor child whose GPU (one RTX 4090 through a stand-in NVML),
    llama-cpp-python (absent, or a stand-in first on sys.path) and tiktoken cache (empty) are
    known, whatever this machine has installed."""
    import os

    folder = tmp_path / "stand-ins"
    _stand_ins(folder, llama=llama)
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "FAKE_NVML": "ok", "TIKTOKEN_CACHE_DIR": str(cache)}


@pytest.fixture
def machine(tmp_path):
    """The stand-in GPU; llama-cpp-python as installed here (the rows used do not depend on it)."""
    return _machine_env(tmp_path, llama=False)


@pytest.fixture
def machine_with_llama(tmp_path):
    return _machine_env(tmp_path, llama=True)


def test_nvml_gpu_reported_and_vram_budget_fails(fake_nvml, tmp_path):
    from evalcli.doctor.checks_gpu import check_gpu, check_vram

    model = tmp_path / "big.gguf"
    with open(model, "wb") as fh:
        fh.write(b"GGUF")
        fh.truncate(2 << 30)  # sparse: 2 GiB on paper
    profile = write_profile(tmp_path / "gpu.toml", engine="llama_cpp", workers=2,
                            options={"model": str(model), "n_gpu_layers": -1})
    ctx = Context.build(str(profile))
    gpu = check_gpu(ctx)
    assert gpu.status == "ok", gpu
    assert "driver 560.35.03, CUDA 12.6" in gpu.detail and "RTX 4090" in gpu.detail
    assert "cc 8.9" in gpu.detail
    vram = check_vram(ctx)
    assert vram.status == "warn" and "the run starts only 1" in vram.detail, vram
    assert "engine.workers = 1" in vram.fix


def test_nvml_errors_become_advice(fake_nvml):
    from evalcli.doctor.checks_gpu import check_gpu

    fake_nvml.setenv("FAKE_NVML", "mismatch")
    check = check_gpu(Context())
    assert check.status == "warn" and "restart the computer" in check.fix, check
    assert "NVMLError_LibRmVersionMismatch" in check.detail



@pytest.mark.parametrize("driver_hint, needs_gpu, status", [
    (False, False, "skip"), (True, False, "warn"), (False, True, "warn")])
def test_nvml_library_missing(fake_nvml, tmp_path, driver_hint, needs_gpu, status):
    """No NVML library: nothing to report on a machine without an NVIDIA driver, unless the
    profile offloads to a GPU; a sign of a driver (nvidia-smi on PATH) makes it a warning."""
    from evalcli.doctor import nvml
    from evalcli.doctor.checks_gpu import check_gpu

    fake_nvml.setenv("FAKE_NVML", "missing")
    tools = tmp_path / "bin"
    tools.mkdir()
    if driver_hint:  # what _nvidia_hint looks for first: an nvidia-smi executable on PATH
        smi = tools / ("nvidia-smi.exe" if sys.platform == "win32" else "nvidia-smi")
        smi.write_bytes(b"")
        smi.chmod(0o755)
        fake_nvml.setenv("PATH", str(tools))
        assert nvml._nvidia_hint()
    else:  # the driver files themselves (/proc, System32) are the real machine's: not here
        fake_nvml.setattr(nvml, "_nvidia_hint", lambda: False)
    profile = write_profile(tmp_path / "p.toml", engine="llama_cpp", workers=1,
                            options={"model": str(tmp_path / "m.gguf"),
                                     "n_gpu_layers": -1 if needs_gpu else 0})
    check = check_gpu(Context.build(str(profile)))
    assert check.status == status, check
    if status == "warn":
        assert "NVML library was not found" in check.detail and "driver" in check.fix


def test_frozen_apps_probe_through_a_spawn_child():
    # what run_probe does when sys.frozen (a frozen executable takes no `-c`); sys.frozen
    # itself cannot be faked here: spawn would then launch python as if it were the app
    from evalcli.doctor.probe import _run_spawned

    result = _run_spawned("nvml", (), timeout=60)
    assert result.returncode == 0 and result.data is not None, result
    assert "error" in result.data or "driver" in result.data


# -- Ollama /api/ps against a loopback server ------------------------------------------------
@pytest.mark.parametrize("vram, status", [(4 << 30, "ok"), (1 << 30, "warn"), (0, "warn")])
def test_ollama_partly_on_cpu(tmp_path, vram, status):
    from evalcli.doctor.checks_engines import check_ollama_placement
    from tests.servers.loopback import FakeOllama

    class WithPs(FakeOllama):
        def handle(self, rec):
            if rec.path == "/api/ps" and rec.method == "GET":
                return 200, {"models": [{"name": "llama3.1:8b", "model": "llama3.1:8b",
                                         "size": 4 << 30, "size_vram": vram,
                                         "context_length": 4096}]}, {}
            return super().handle(rec)

    with WithPs() as server:
        profile = write_profile(tmp_path / "o.toml", engine="ollama", workers=1,
                                options={"model": "llama3.1:8b", "base_url": server.url})
        check = check_ollama_placement(Context.build(str(profile)))
    assert check.status == status, check
    assert ("partly on the CPU" in check.detail) == (status == "warn")
    if status == "warn":
        assert "num_ctx" in check.fix and "ollama stop llama3.1:8b" in check.fix
    assert "server log" in check.detail


def test_nvml_dll_row_on_windows(tmp_path, monkeypatch):
    """A hosted Windows runner has no NVIDIA driver: the row says so (ok), it is not skipped;
    a driver without nvml.dll where it belongs is a warning with its fix."""
    from evalcli.doctor.checks_windows import check_nvml_dll
    from evalcli.doctor.nvml import GpuProbe

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("WINDIR", str(tmp_path / "Windows"))
    monkeypatch.setenv("ProgramFiles", str(tmp_path / "Program Files"))
    ctx = Context()
    ctx._gpu = GpuProbe(installed=False, nvidia_hint=False)
    check = check_nvml_dll(ctx)
    assert check.status == "ok" and "no NVIDIA driver" in check.detail, check
    ctx._gpu = GpuProbe(installed=True, nvidia_hint=False, source="nvml", driver="560.94",
                        gpus=[{"index": 0, "name": "RTX 4070"}])
    assert check_nvml_dll(ctx).status == "ok"  # NVML answers: the DLL is loaded from somewhere
    ctx._gpu = GpuProbe(installed=False, nvidia_hint=True)
    check = check_nvml_dll(ctx)
    assert check.status == "warn" and "reinstall the NVIDIA driver" in check.fix
    system32 = tmp_path / "Windows" / "System32"
    system32.mkdir(parents=True)
    (system32 / "nvml.dll").write_bytes(b"MZ")
    assert check_nvml_dll(ctx).status == "ok"
