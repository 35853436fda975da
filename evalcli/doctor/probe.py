"""Child-process probes: anything that may crash, hang or load a native library runs here,
so a DLL failure or an illegal instruction becomes an exit code doctor can explain.

    parent: run_probe("llama") ──subprocess.run([python, -c, BOOT, "llama"], timeout)──►
    child:  main(["llama"]) ─► prints one line  @@evalcli-probe@@ {json}  ─► exit 0
    parent: ProbeResult(returncode, data | None, stderr tail, timed_out)

    spawn round-trip: multiprocessing spawn context ─► echo_child(conn): ready, then echo
    every msgpack frame back (the path every engine worker takes).

Only the standard library and msgspec are imported at module top; llama_cpp and pynvml are
imported inside the child's probe functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

MARK = "@@evalcli-probe@@ "
BOOT = "import sys; from evalcli.doctor.probe import main; sys.exit(main(sys.argv[1:]))"


@dataclass
class ProbeResult:
    returncode: int | None  # None: timed out
    data: dict | None  # the JSON the child printed, when it got that far
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def stderr_tail(self, lines: int = 3) -> str:
        kept = [line.strip() for line in self.stderr.strip().splitlines() if line.strip()]
        return " | ".join(kept[-lines:])


def run_probe(kind: str, *args: str, timeout: float) -> ProbeResult:
    if getattr(sys, "frozen", False):  # a frozen app's executable does not take `-c`
        return _run_spawned(kind, args, timeout)
    env = {**os.environ, "PYTHONFAULTHANDLER": "1", "PYTHONIOENCODING": "utf-8"}
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", BOOT, kind, *args], capture_output=True,
                              text=True, encoding="utf-8", errors="replace", timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else ""
        return ProbeResult(None, None, err or "", time.perf_counter() - start)
    data = None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            try:
                data = json.loads(line[len(MARK):])
            except ValueError:
                pass
            break
    return ProbeResult(proc.returncode, data, proc.stderr, time.perf_counter() - start)


def _run_spawned(kind: str, args: tuple[str, ...], timeout: float) -> ProbeResult:
    """The same probe in a spawn child (frozen apps); no stderr to show, exit codes alike."""
    import multiprocessing

    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe(duplex=False)
    proc = mp.Process(target=_spawned_probe, args=(kind, args, child), daemon=True)
    start = time.perf_counter()
    proc.start()
    child.close()
    data = None
    if parent.poll(timeout):
        try:
            data = json.loads(parent.recv_bytes())
        except (EOFError, OSError, ValueError):
            pass
    proc.join(max(1.0, timeout - (time.perf_counter() - start)))
    if proc.is_alive():
        proc.kill()
        proc.join(5)
        return ProbeResult(None, None, "", time.perf_counter() - start)
    parent.close()
    return ProbeResult(proc.exitcode, data, "", time.perf_counter() - start)


def _spawned_probe(kind: str, args: tuple[str, ...], conn) -> None:
    global _SINK
    _SINK = conn
    code = main([kind, *args])
    conn.close()
    sys.exit(code)


# -- spawn round-trip (child side) --------------------------------------------------------------
def echo_child(conn) -> None:
    """Spawn target: say who we are, then echo msgpack frames until EOF or an empty frame."""
    import msgspec

    import engines
    import ipc

    conn.send_bytes(msgspec.msgpack.encode(
        {"pid": os.getpid(), "engines": engines.__file__, "ipc": ipc.__file__}))
    while True:
        try:
            frame = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not frame:
            return
        conn.send_bytes(msgspec.msgpack.encode(msgspec.msgpack.decode(frame)))


# -- subprocess probes (child side) -------------------------------------------------------------
_SINK = None  # the pipe to the parent when the probe runs as a spawn child


def _emit(data: dict) -> int:
    if _SINK is not None:
        _SINK.send_bytes(json.dumps(data).encode("utf-8"))
        return 0
    sys.stdout.write(MARK + json.dumps(data) + "\n")
    sys.stdout.flush()
    return 0


def _probe_llama() -> int:
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    return _emit({
        "version": getattr(llama_cpp, "__version__", ""),
        "file": llama_cpp.__file__,
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "max_devices": int(llama_cpp.llama_max_devices()),
        "mmap": bool(llama_cpp.llama_supports_mmap()),
        "system_info": info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info),
    })


def _probe_smoke(model: str, n_gpu_layers: str, n_threads: str) -> int:
    """verbose=True: llama.cpp's log (offloaded N/M layers, CUDA errors) goes to stderr,
    where the parent reads it."""
    import llama_cpp

    start = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model, n_ctx=512, n_gpu_layers=int(n_gpu_layers),
                          n_threads=int(n_threads), verbose=True)
    loaded = time.perf_counter()
    out = llm.create_completion("The capital of France is", max_tokens=8, temperature=0.0,
                                top_k=1, top_p=1.0, repeat_penalty=1.0, seed=0)
    done = time.perf_counter()
    usage = out.get("usage") or {}
    tokens = int(usage.get("completion_tokens") or 0)
    return _emit({
        "load_s": loaded - start,
        "generate_s": done - loaded,
        "completion_tokens": tokens,
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "text": out["choices"][0]["text"],
        "has_chat_template": bool(llm.metadata.get("tokenizer.chat_template")),
    })


def _probe_loader(windows: str, lib_dir: str, *names: str) -> int:
    """Load the CUDA runtime the way llama-cpp-python 0.3.x loads its library
    (llama_cpp/_ctypes_extensions.py, load_shared_library). On Windows: add_dll_directory(lib)
    and lib prepended to PATH, then add_dll_directory(%CUDA_PATH%\\bin and \\lib) - a folder
    that does not exist raises there, exactly as `import llama_cpp` does - and CDLL with
    winmode=0: the legacy search order (application folder, System32, the current folder,
    PATH); the add_dll_directory folders are not searched in that mode. Elsewhere: dlopen.
    Then the build's ggml-cuda library by its full path."""
    import ctypes

    kwargs = {}
    if windows == "1":
        if os.path.isdir(lib_dir):
            os.add_dll_directory(lib_dir)
        os.environ["PATH"] = lib_dir + os.pathsep + os.environ.get("PATH", "")
        cuda_path = os.environ.get("CUDA_PATH")
        if cuda_path:
            for sub in ("bin", "lib"):
                folder = os.path.join(cuda_path, sub)
                try:
                    os.add_dll_directory(folder)
                except OSError as exc:
                    return _emit({"stale": folder, "error": f"{type(exc).__name__}: {exc}",
                                  "libs": {}, "cuda_lib": None})
        kwargs["winmode"] = 0  # llama_cpp passes ctypes.RTLD_GLOBAL, which is 0 on Windows
    results = {}
    for name in names:
        results[name] = _load(ctypes, name, kwargs)
    cuda_lib = None
    for entry in sorted(os.listdir(lib_dir)) if os.path.isdir(lib_dir) else []:
        if "ggml-cuda" in entry.lower():
            cuda_lib = {"name": entry, **_load(ctypes, os.path.join(lib_dir, entry), kwargs)}
            break
    return _emit({"stale": "", "libs": results, "cuda_lib": cuda_lib})


def _load(ctypes, name: str, kwargs: dict) -> dict:
    try:
        handle = ctypes.CDLL(name, **kwargs)
    except OSError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "path": _module_path(handle)}


def _module_path(handle) -> str:
    if sys.platform != "win32":
        return ""
    import ctypes

    buf = ctypes.create_unicode_buffer(1024)
    ctypes.windll.kernel32.GetModuleFileNameW(ctypes.c_void_p(handle._handle), buf, 1024)
    return buf.value


def _probe_nvml() -> int:
    try:
        import pynvml
    except ImportError as exc:
        return _emit({"error": "ImportError", "message": str(exc)})
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - every NVML error class is reported by name
        return _emit({"error": type(exc).__name__, "message": str(exc)})
    try:
        cuda = pynvml.nvmlSystemGetCudaDriverVersion()
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                cc = list(pynvml.nvmlDeviceGetCudaComputeCapability(handle))
            except Exception:  # noqa: BLE001 - NotSupported on some vGPUs
                cc = None
            gpus.append({"index": index, "name": _text(pynvml.nvmlDeviceGetName(handle)),
                         "total": int(memory.total), "free": int(memory.free),
                         "used": int(memory.used), "compute_capability": cc})
        return _emit({"driver": _text(pynvml.nvmlSystemGetDriverVersion()),
                      "cuda_driver": [cuda // 1000, (cuda % 1000) // 10], "gpus": gpus})
    except Exception as exc:  # noqa: BLE001
        return _emit({"error": type(exc).__name__, "message": str(exc)})
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _probe_windlls(*names: str) -> int:
    import ctypes

    results = {}
    for name in names:
        try:
            ctypes.WinDLL(name)
            results[name] = ""
        except OSError as exc:
            results[name] = str(exc)
    return _emit({"dlls": results})


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_PROBES = {"llama": _probe_llama, "smoke": _probe_smoke, "nvml": _probe_nvml,
           "windlls": _probe_windlls, "loader": _probe_loader}


def main(argv: list[str]) -> int:
    kind, *args = argv
    return _PROBES[kind](*args)
