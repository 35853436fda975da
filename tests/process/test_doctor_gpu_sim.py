"""Windows + NVIDIA failures, simulated with stand-in modules on the path of doctor's child
probes: a stand-in `llama_cpp` package (with its dist-info and lib/ folder of stand-in DLLs
that list the DLLs they depend on), a stand-in `pynvml`, and a `sitecustomize` that plays
the Windows DLL loader: `os.add_dll_directory` (raises for a folder that does not exist) and
`ctypes.CDLL` searching PATH with winmode=0 (the legacy order llama_cpp uses) or the
add_dll_directory folders otherwise, dependencies included. The stand-in llama_cpp loads
itself the way llama-cpp-python 0.3.x does (llama_cpp/_ctypes_extensions.py). The parent
runs the real checks with sys.platform = "win32", so every fix must be PowerShell; each fix
is checked to be one pasteable line without placeholders.

    CPU-only wheel on an RTX 4070           -> the cu125 wheel, pinned, with its runtime DLLs
    GTX 1080 (cc 6.1) with driver 580       -> cu125, never cu130 (CUDA 13 needs cc 7.5)
    0.3.20 installed                        -> a version that has Windows CUDA wheels
    CUDA 13 DLLs only in CUDA_PATH\\bin\\x64    -> that folder added to PATH
    stale CUDA_PATH                         -> Remove-Item Env:CUDA_PATH
    no CUDA runtime at all                  -> NVIDIA's runtime wheels, their bin on PATH
    8B model, 2 workers, 11 GiB free        -> doctor and the run's cap agree: 1 worker
    CUDA out of memory at load              -> n_gpu_layers halved, from the model's n_layer
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from evalcli.doctor import Context
from evalcli.doctor.check import Check
from evalcli.doctor.cuda import FIRST_WINDOWS_WHEEL, runtime_names
from tests.gguf_stub import write_gguf_stub
from tests.helpers import write_profile

FAKE_PYNVML = '''
import os
from types import SimpleNamespace

def nvmlInit(): pass
def nvmlShutdown(): pass
def nvmlSystemGetDriverVersion(): return os.environ["FAKE_DRIVER"]
def nvmlSystemGetCudaDriverVersion(): return int(os.environ["FAKE_CUDA"])
def nvmlDeviceGetCount(): return 1
def nvmlDeviceGetHandleByIndex(i): return i
def nvmlDeviceGetName(h): return os.environ["FAKE_GPU"]
def nvmlDeviceGetMemoryInfo(h):
    free = int(float(os.environ.get("FAKE_FREE_GIB", "10")) * (1 << 30))
    return SimpleNamespace(total=12 << 30, free=free, used=(12 << 30) - free)
def nvmlDeviceGetCudaComputeCapability(h):
    return tuple(int(x) for x in os.environ["FAKE_CC"].split("."))
'''

FAKE_LLAMA = '''
import ctypes, os, pathlib, sys
__version__ = os.environ.get("FAKE_VERSION", "0.3.36")
MODE = os.environ.get("FAKE_LLAMA", "cpu")

_base = pathlib.Path(__file__).parent / "lib"  # what load_shared_library does on Windows
os.add_dll_directory(str(_base))
os.environ["PATH"] = str(_base) + os.pathsep + os.environ["PATH"]
if "CUDA_PATH" in os.environ:
    os.add_dll_directory(os.path.join(os.environ["CUDA_PATH"], "bin"))
    os.add_dll_directory(os.path.join(os.environ["CUDA_PATH"], "lib"))
try:
    ctypes.CDLL(str(_base / "llama.dll"), winmode=0)
except Exception as e:
    raise RuntimeError(f"Failed to load shared library '{_base / 'llama.dll'}': {e}")

def llama_supports_gpu_offload(): return MODE != "cpu"
def llama_max_devices(): return 16 if MODE != "cpu" else 1
def llama_supports_mmap(): return True
def llama_print_system_info():
    cuda = "CUDA : ARCHS = " + os.environ.get("FAKE_ARCHS", "600,610,700,750,800,860,890") + \\
        " | USE_GRAPHS = 1 | " if MODE != "cpu" else ""
    return (cuda + "CPU : SSE3 = 1 | AVX2 = 1 | ").encode()

class Llama:
    def __init__(self, model_path, n_gpu_layers=0, verbose=False, **kw):
        print("print_info: n_layer          = 48", file=sys.stderr)
        if MODE == "oom":
            print("ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9000.00 MiB on "
                  "device 0: cudaMalloc failed: out of memory", file=sys.stderr)
            raise ValueError(f"Failed to load model from file: {model_path}")
        print(f"load_tensors: offloaded {os.environ.get('FAKE_OFFLOADED', '49')}/49 layers "
              "to GPU", file=sys.stderr)
        self.metadata = {}
        if MODE == "slow":  # a first load that JIT-compiles PTX
            import time
            time.sleep(30)

    def create_completion(self, prompt, **kw):
        return {"choices": [{"text": " Paris."}], "usage": {"completion_tokens": 3,
                                                           "prompt_tokens": 6}}
'''

SITECUSTOMIZE = '''
import ctypes, os, re
if os.environ.get("FAKE_WINLOADER"):
    _dirs = []

    def add_dll_directory(path):
        if not os.path.isdir(path):
            raise FileNotFoundError(3, "The system cannot find the path specified", path)
        _dirs.append(path)

    def _find(name, winmode):
        if "/" in name or "\\\\" in name:
            return name if os.path.isfile(name) else None
        search = os.environ.get("PATH", "").split(os.pathsep) if winmode == 0 else _dirs
        for folder in search:
            if folder and os.path.isfile(os.path.join(folder, name)):
                return os.path.join(folder, name)
        return None

    def _load(name, winmode, top):
        path = _find(name, winmode)
        if path is None:
            raise OSError(f"Could not find module '{top}' (or one of its dependencies). "
                          "Try using the full path with constructor syntax.")
        with open(path, "rb") as fh:
            for dep in re.findall(rb"[A-Za-z0-9_.-]+[.]dll", fh.read()):
                if dep.decode() != os.path.basename(path):
                    _load(dep.decode(), winmode, top)

    class _Loader:
        def __init__(self, name, mode=0, handle=None, use_errno=False, use_last_error=False,
                     winmode=None):
            _load(name, winmode, name)
            self._name, self._handle = name, 0

    os.add_dll_directory = add_dll_directory
    ctypes.CDLL = ctypes.WinDLL = _Loader
'''

GPUS = {"rtx4070": ("NVIDIA GeForce RTX 4070", "8.9", "560.94", "12060"),
        "gtx1080": ("NVIDIA GeForce GTX 1080", "6.1", "580.88", "13000"),
        "rtx4070-580": ("NVIDIA GeForce RTX 4070", "8.9", "580.88", "13000"),
        "rtx5070": ("NVIDIA GeForce RTX 5070", "12.0", "572.16", "12080")}
ARCHS = {"cu11": "600,610,700,750,800,860,890", "cu12": "600,610,700,750,800,860,890,900",
         "cu13": "750,800,860,890,900"}


def _dll(path, *deps: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"MZ\0" + b"".join(d.encode() + b"\0" for d in deps) + b"\0" * 64)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """Returns setup(gpu, wheel, mode, runtime, version): wheel in {"cpu", "cu12", "cu13"};
    runtime = where the CUDA runtime DLLs are: "path" (a toolkit whose bin is on PATH, as
    the CUDA 12 installer leaves it), "bin_x64" (CUDA_PATH\\bin\\x64, not on PATH, as CUDA 13
    keeps them), "nowhere", "stale" (CUDA_PATH names a folder that is gone), "no_cublas"."""
    installs: list[int] = []

    def setup(gpu: str, wheel: str, mode: str | None = None, runtime: str = "path",
              version: str = "0.3.36") -> SimpleNamespace:
        installs.append(len(installs))  # called again: a fresh install that shadows the last
        root = tmp_path / f"site{len(installs)}"
        pkg = root / "llama_cpp"
        lib = pkg / "lib"
        lib.mkdir(parents=True)
        (pkg / "__init__.py").write_text(FAKE_LLAMA, encoding="utf-8")
        major = wheel[2:] if wheel != "cpu" else ""
        runtime_dlls = runtime_names(int(major), windows=True) if major else []
        _dll(lib / "ggml-base.dll")
        _dll(lib / "ggml-cpu.dll", "ggml-base.dll")
        _dll(lib / "ggml.dll", "ggml-base.dll", "ggml-cpu.dll",
             *(["ggml-cuda.dll"] if major else []))
        _dll(lib / "llama.dll", "ggml.dll", "ggml-base.dll")
        if major:
            _dll(lib / "ggml-cuda.dll", "ggml-base.dll", *runtime_dlls)
        info = root / f"llama_cpp_python-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: llama_cpp_python\n"
                                       f"Version: {version}\n", encoding="utf-8")
        (root / "pynvml.py").write_text(FAKE_PYNVML, encoding="utf-8")
        (root / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        kit = (tmp_path / "ProgramFiles" / "NVIDIA GPU Computing Toolkit" / "CUDA" /
               f"v{major or 12}.{'0' if major == '13' else '4'}")
        if kit.exists():
            kit = kit.with_name(kit.name + f"-{len(installs)}")
        path = os.environ["PATH"]
        cuda_path = None
        if runtime in ("path", "no_cublas") and major:
            for name in runtime_dlls[:1] if runtime == "no_cublas" else runtime_dlls:
                _dll(kit / "bin" / name)
            (kit / "lib").mkdir()
            cuda_path, path = kit, str(kit / "bin") + os.pathsep + path
        elif runtime == "bin_x64":
            for name in runtime_dlls:
                _dll(kit / "bin" / "x64" / name)
            (kit / "lib").mkdir()
            cuda_path = kit
        elif runtime == "stale":  # the runtime from NVIDIA's wheels, on PATH; CUDA_PATH
            for name in runtime_dlls:  # still names a toolkit that was uninstalled
                _dll(root / "nvidia" / "cuda_runtime" / "bin" / name)
            cuda_path = kit  # never created
            path = str(root / "nvidia" / "cuda_runtime" / "bin") + os.pathsep + path
        name, cc, driver, cuda = GPUS[gpu]
        for key, value in {"FAKE_GPU": name, "FAKE_CC": cc, "FAKE_DRIVER": driver,
                           "FAKE_CUDA": cuda, "FAKE_LLAMA": mode or wheel,
                           "FAKE_VERSION": version, "FAKE_WINLOADER": "1",
                           "PYTHONPATH": str(root), "PATH": path,
                           "ProgramFiles": str(tmp_path / "ProgramFiles")}.items():
            monkeypatch.setenv(key, value)
        if cuda_path is not None:
            monkeypatch.setenv("CUDA_PATH", str(cuda_path))
        else:
            monkeypatch.delenv("CUDA_PATH", raising=False)
        if wheel in ARCHS:
            monkeypatch.setenv("FAKE_ARCHS", ARCHS[wheel])
        monkeypatch.syspath_prepend(str(root))
        for mod in [m for m in sys.modules if m == "llama_cpp" or m == "pynvml"]:
            monkeypatch.delitem(sys.modules, mod)
        monkeypatch.setattr(sys, "platform", "win32")  # the parent's fixes: PowerShell
        return SimpleNamespace(kit=kit, lib=lib)
    return setup


def assert_pasteable(check: Check) -> str:
    fix = check.fix
    assert check.status in ("fail", "warn"), check
    assert fix and "\n" not in fix, check
    for bad in ("<", ">", "==<", "...", "PATH.gguf"):
        assert bad not in fix, (bad, check)
    if sys.platform == "win32":  # (monkeypatched) PowerShell: no POSIX env prefix
        assert 'CMAKE_ARGS="' not in fix and "export " not in fix, fix
    return fix


def _profile(tmp_path, layers=-1):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)
    return str(write_profile(tmp_path / "gpu.toml", engine="llama_cpp", workers=1,
                             options={"model": str(model), "n_gpu_layers": layers}))


def test_cpu_only_wheel_on_rtx_4070(machine):
    from evalcli.doctor.checks_llama import check_llama

    machine("rtx4070", "cpu")
    check = check_llama(Context())
    fix = assert_pasteable(check)
    assert check.status == "warn" and "CPU-only build" in check.detail and "RTX 4070" in check.detail
    assert fix.startswith("python -m pip install --force-reinstall --no-cache-dir "
                          "--only-binary=llama-cpp-python llama-cpp-python==0.3.36 "
                          "--extra-index-url https://abetlen.github.io/llama-cpp-python/whl/"
                          "cu125  # needs cudart64_12.dll, cublas64_12.dll, cublasLt64_12.dll")
    assert "nvidia-cuda-runtime-cu12 nvidia-cublas-cu12" in fix


def test_gtx_1080_with_driver_580_gets_cu125_not_cu130(machine):
    from evalcli.doctor.checks_llama import check_llama

    machine("gtx1080", "cpu")
    fix = assert_pasteable(check_llama(Context()))
    assert "/whl/cu125  # needs" in fix and "cu130" not in fix


def test_cuda13_wheel_on_gtx_1080_has_no_kernels(machine, tmp_path):
    from evalcli.doctor.checks_cuda import check_cuda_wheel
    from evalcli.doctor.checks_llama import check_llama

    machine("gtx1080", "cu13")
    ctx = Context.build(_profile(tmp_path))
    assert check_llama(ctx).status == "ok"
    check = check_cuda_wheel(ctx)
    fix = assert_pasteable(check)
    assert check.status == "fail" and "no kernels" in check.detail and "6.1" in check.detail
    assert "CUDA 13 build" in check.detail
    assert "/whl/cu125  # needs" in fix


def test_missing_cublas_dll_is_named_with_its_fix(machine, tmp_path):
    from evalcli.doctor.checks_cuda import check_cuda_libs
    from evalcli.doctor.checks_llama import check_llama

    machine("rtx4070", "cu12", runtime="no_cublas")
    ctx = Context()
    llama = check_llama(ctx)
    fix = assert_pasteable(llama)
    assert llama.status == "fail" and "llama.dll" in llama.detail
    assert "cublas64_12.dll, cublasLt64_12.dll cannot be loaded" in llama.detail, llama
    assert "no CUDA 12 runtime found" in llama.detail
    assert fix.startswith("python -m pip install nvidia-cuda-runtime-cu12 nvidia-cublas-cu12; ")
    assert "nvidia\\cublas\\bin" in fix.replace("/", "\\") and "SetEnvironmentVariable" in fix
    libs = check_cuda_libs(ctx)
    assert libs.status == "fail" and libs.fix == fix


def test_cuda_out_of_memory_at_load(machine, tmp_path):
    from evalcli.doctor.checks_llama import check_llama
    from evalcli.doctor.smoke import check_smoke

    machine("rtx4070", "cu12", mode="oom")
    ctx = Context.build(_profile(tmp_path))
    assert check_llama(ctx).status == "ok"
    check = check_smoke(ctx)
    fix = assert_pasteable(check)
    assert check.status == "fail" and check.detail.startswith("CUDA out of memory"), check
    assert fix.startswith("set engine.options.n_gpu_layers = 24")


def test_offloaded_layers_reported_against_n_gpu_layers(machine, tmp_path, monkeypatch):
    from evalcli.doctor.checks_llama import check_llama
    from evalcli.doctor.smoke import check_smoke

    machine("rtx4070", "cu12")
    ctx = Context.build(_profile(tmp_path))
    check_llama(ctx)
    check = check_smoke(ctx)
    assert check.status == "ok" and "49/49 layers on the GPU" in check.detail, check
    assert "tok/s" in check.detail
    monkeypatch.setenv("FAKE_OFFLOADED", "20")
    check = check_smoke(ctx)
    assert check.status == "warn" and "asked for 49, got 20" in check.detail
    assert_pasteable(check)


@pytest.mark.parametrize("log, expect", [
    ("CUDA error: no kernel image is available for execution on the device", "/whl/cu125"),
    ("CUDA error 35 at ggml-cuda.cu:1: CUDA driver version is insufficient for CUDA runtime "
     "version", "nvidia.com/Download"),
])
def test_load_errors_classified(machine, log, expect):
    from evalcli.doctor.smoke import classify_load_error

    machine("gtx1080", "cu13")
    detail, fix = classify_load_error(Context(), 1, log, "m.gguf")
    assert expect in fix and "GGUF" not in detail
    assert_pasteable(Check("x", "fail", detail, fix))


def test_illegal_instruction_on_windows_keeps_cuda(machine):
    from evalcli.doctor.checks_llama import classify_child_failure

    machine("rtx4070", "cu12")
    detail, fix = classify_child_failure(0xC000001D, "", windows=True, ccs=[(8, 9)],
                                         driver=(12, 6), installed="0.3.36")
    assert detail.startswith("illegal instruction")
    assert "/whl/cu125" in fix and "CMAKE_ARGS" not in fix  # no MSVC rebuild into a CPU build


@pytest.mark.skipif(sys.platform == "win32", reason="bash parses the POSIX form")
def test_posix_fixes_are_valid_shell(tmp_path):
    """On Linux the same advice is POSIX shell: bash parses it."""
    from evalcli.doctor.cuda import build_command, cuda_advice

    for command in (cuda_advice([(8, 9)], (12, 6), "0.3.36")[1],
                    build_command([(5, 2)], "0.3.36")):
        assert "$env:" not in command
        subprocess.run(["bash", "-n", "-c", command], check=True)
    assert "-DCMAKE_CUDA_ARCHITECTURES=52" in build_command([(5, 2)], "0.3.36")


FAKE_SMI = """#!{python}
import sys
if any(a.startswith("--query-gpu=") for a in sys.argv[1:]):
    print("0, NVIDIA GeForce RTX 4070, 560.94, 12282, 11000, 1282, 8.9")
else:
    print("| NVIDIA-SMI 560.94        Driver Version: 560.94        CUDA Version: 12.6     |")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in nvidia-smi is a script")
def test_no_nvml_falls_back_to_nvidia_smi(machine, tmp_path, monkeypatch):
    """Installed as docs/windows.md once said (no nvidia-ml-py): a CPU-only wheel on an
    NVIDIA machine must not look ok."""
    import importlib.util

    from evalcli.doctor.checks_gpu import check_gpu
    from evalcli.doctor.checks_llama import check_llama

    real_platform = sys.platform
    machine("rtx4070", "cpu")
    monkeypatch.setattr(sys, "platform", real_platform)  # shutil.which must find the script
    (tmp_path / "site1" / "pynvml.py").unlink()  # no nvidia-ml-py
    importlib.invalidate_caches()
    if importlib.util.find_spec("pynvml") is not None:
        pytest.skip("nvidia-ml-py is installed in this environment")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_text(FAKE_SMI.format(python=sys.executable), encoding="utf-8")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ["PATH"])
    ctx = Context()
    gpu = check_gpu(ctx)
    assert gpu.status == "ok" and "from nvidia-smi" in gpu.detail and "cc 8.9" in gpu.detail
    assert "CUDA 12.6" in gpu.detail and "12.0 GiB (free 10.7 GiB)" in gpu.detail
    llama = check_llama(ctx)
    assert llama.status == "warn" and "/whl/cu125  # needs" in assert_pasteable(llama)


# -- the "done when": each machine gets a fix, and the fix, applied, works ------------
def _pip_line(fix: str) -> tuple[str, str]:
    """(version, index tag) of a pasted wheel line."""
    version = re.search(r"llama-cpp-python==([\d.]+)", fix).group(1)
    return version, re.search(r"/whl/(cu\d+)", fix).group(1)


def _install_from(machine, gpu: str, fix: str) -> None:
    """What pip does with the wheel line, in the simulated machine (the runtime it names is
    there): the version must have a Windows wheel on that index."""
    version, tag = _pip_line(fix)
    assert tuple(map(int, version.split("."))) >= FIRST_WINDOWS_WHEEL[tag], fix
    machine(gpu, f"cu{tag[2:4]}", runtime="path", version=version)


def _all_ok(ctx: Context, *names: str) -> None:
    from evalcli.doctor import checks_cuda, checks_llama

    rows = {"llama": checks_llama.check_llama, "wheel": checks_cuda.check_cuda_wheel,
            "libs": checks_cuda.check_cuda_libs}
    for name in names:
        check = rows[name](ctx)
        assert check.status == "ok", check


@pytest.mark.parametrize("case", ["cpu wheel + RTX 4070", "cu13 wheel + GTX 1080",
                                  "0.3.20 + RTX 4070", "CUDA 13 DLLs in bin\\x64 only",
                                  "stale CUDA_PATH", "8B model, 2 workers, 11 GiB free"])
def test_done_when_every_machine_gets_a_fix_that_works(machine, tmp_path, monkeypatch, case):
    from evalcli.doctor.checks_cuda import check_cuda_libs, check_cuda_wheel
    from evalcli.doctor.checks_gpu import check_vram
    from evalcli.doctor.checks_llama import check_llama
    from evalcli.run import capacity

    if case == "cpu wheel + RTX 4070":
        machine("rtx4070", "cpu")
        check = check_llama(Context())
        fix = assert_pasteable(check)
        assert "CPU-only build" in check.detail and _pip_line(fix) == ("0.3.36", "cu125")
        _install_from(machine, "rtx4070", fix)
        _all_ok(Context(), "llama", "wheel", "libs")
    elif case == "cu13 wheel + GTX 1080":
        machine("gtx1080", "cu13", runtime="path")
        ctx = Context.build(_profile(tmp_path))
        _all_ok(ctx, "llama")
        check = check_cuda_wheel(ctx)
        fix = assert_pasteable(check)
        assert "no kernels" in check.detail and _pip_line(fix) == ("0.3.36", "cu125")
        _install_from(machine, "gtx1080", fix)
        _all_ok(Context.build(_profile(tmp_path)), "llama", "wheel", "libs")
    elif case == "0.3.20 + RTX 4070":  # 0.3.16-0.3.21 have no Windows CUDA wheels
        machine("rtx4070", "cpu", version="0.3.20")
        fix = assert_pasteable(check_llama(Context()))
        assert "0.3.20" not in fix and _pip_line(fix) == ("0.3.36", "cu125")
        _install_from(machine, "rtx4070", fix)
        _all_ok(Context(), "llama", "wheel", "libs")
    elif case == "CUDA 13 DLLs in bin\\x64 only":
        env = machine("rtx4070-580", "cu13", runtime="bin_x64")
        check = check_llama(Context())
        fix = assert_pasteable(check)
        assert check.status == "fail" and "cudart64_13.dll" in check.detail, check
        assert "not on PATH" in check.detail
        folder = re.match(r'\$d = "([^"]+)"; \$env:PATH = "\$d;" \+ \$env:PATH; ', fix).group(1)
        assert folder == str(env.kit / "bin" / "x64") and "SetEnvironmentVariable" in fix
        monkeypatch.setenv("PATH", folder + os.pathsep + os.environ["PATH"])  # the fix, applied
        _all_ok(Context(), "llama", "libs")
    elif case == "stale CUDA_PATH":
        machine("rtx4070", "cu12", runtime="stale")
        ctx = Context()
        check = check_llama(ctx)
        fix = assert_pasteable(check)
        assert "CUDA_PATH" in check.detail and "does not exist" in check.detail, check
        assert check_cuda_libs(ctx).fix == fix and fix.startswith("Remove-Item Env:CUDA_PATH; ")
        monkeypatch.delenv("CUDA_PATH")  # the fix, applied
        _all_ok(Context(), "llama", "libs")
    else:  # Llama 3 8B Q4_K_M (4.9 GB), n_ctx 2048: ~5.5 GiB a worker
        machine("rtx4070", "cu12", mode="cu12")
        monkeypatch.setenv("FAKE_FREE_GIB", "11")
        model = write_gguf_stub(tmp_path / "llama-3-8b-q4_k_m.gguf", 4_920_000_000)
        options = {"model": str(model), "n_gpu_layers": -1, "n_ctx": 2048}

        def profile(workers: int) -> str:
            return str(write_profile(tmp_path / "gpu.toml", engine="llama_cpp",
                                     workers=workers, options=options))

        ctx = Context.build(profile(2))
        check = check_vram(ctx)
        fix = assert_pasteable(check)
        assert fix.startswith("set engine.workers = 1") and "the run starts only 1" in check.detail
        assert "0.25 GiB KV cache" in check.detail
        fits, why = capacity.llama_memory_cap(ctx.options, 2, free=(64 << 30, [11 << 30]))
        assert fits == 1 and check.detail.split(": only")[0] in why  # the same arithmetic
        assert check_vram(Context.build(profile(1))).status == "ok"  # the fix, applied


def test_rtx_50_is_told_about_native_kernels(machine, tmp_path, monkeypatch):
    from evalcli.doctor import smoke
    from evalcli.doctor.checks_cuda import check_cuda_wheel
    from evalcli.doctor.checks_llama import check_llama

    machine("rtx5070", "cu11")  # CUDA 11.8 builds carry no PTX an RTX 50 can use
    ctx = Context.build(_profile(tmp_path))
    assert check_llama(ctx).status == "ok"
    check = check_cuda_wheel(ctx)
    assert check.status == "fail" and "no kernels" in check.detail and "PTX" not in check.detail
    assert _pip_line(assert_pasteable(check)) == ("0.3.36", "cu125")
    machine("rtx5070", "cu12", mode="slow")  # cu12: compute_90 PTX, JIT on first load
    ctx = Context.build(_profile(tmp_path))
    assert check_llama(ctx).status == "ok"
    check = check_cuda_wheel(ctx)
    fix = assert_pasteable(check)
    assert check.status == "warn" and "PTX JIT" in check.detail and "12.8" in check.detail
    assert "-DCMAKE_CUDA_ARCHITECTURES=120" in fix and "--no-binary=llama-cpp-python" in fix
    monkeypatch.setattr(smoke, "SMOKE_TIMEOUT_S", 3.0)
    slow = smoke.check_smoke(ctx)
    assert slow.status == "warn" and "not a sign that n_gpu_layers is wrong" in slow.detail
    assert "n_gpu_layers" not in slow.fix and "CMAKE_CUDA_ARCHITECTURES=120" in slow.fix


def test_stale_cuda_path_breaks_even_a_cpu_wheel(machine, monkeypatch):
    """llama_cpp adds %CUDA_PATH%\\bin whenever CUDA_PATH is set, whatever the build."""
    from evalcli.doctor.checks_cuda import check_cuda_libs
    from evalcli.doctor.checks_llama import check_llama

    machine("rtx4070", "cpu", runtime="stale")
    ctx = Context()
    check = check_llama(ctx)
    fix = assert_pasteable(check)
    assert check.status == "fail" and "does not exist" in check.detail, check
    assert fix.startswith("Remove-Item Env:CUDA_PATH; ")
    assert check_cuda_libs(ctx).status == "fail"
    monkeypatch.delenv("CUDA_PATH")  # the fix, applied: it imports (and is CPU-only)
    ctx = Context()
    after = check_llama(ctx)
    assert after.status == "warn" and "CPU-only build" in after.detail, after
    assert check_cuda_libs(ctx).status == "skip"
