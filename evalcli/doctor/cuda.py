"""Which llama-cpp-python CUDA build this machine has, and which one it needs.

    installed build (no import):  lib/ folder ─► ggml-cuda library present? CUDA major from
                                  a bundled cudart/cublas, the version's +cuXYZ tag, or the
                                  names ggml-cuda links against
    the machine:                  GPU compute capabilities + the driver's CUDA version (NVML)
    advice:                       the newest prebuilt index that the driver can run and that
                                  covers every GPU ─► a pinned pip line; none fits ─► the
                                  source build with -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES

The index table follows llama-cpp-python's README ("Supported Backends": CUDA 11.8,
12.1-12.5, 13.0, 13.2) and its build-wheels-cuda workflow (Windows only 11.8, 12.4, 12.5,
13.0, 13.2; architectures cu11.8 up to sm_89; cu12 sm_60-sm_90 + compute_90 PTX; cu13
sm_75-sm_90 + PTX, CUDA 13 having dropped Maxwell, Pascal and Volta). See docs/windows.md.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from evalcli.doctor import shell

INDEX_URL = "https://abetlen.github.io/llama-cpp-python/whl/"
FALLBACK_VERSION = "0.3.36"  # the version CI installs (.ci/run, ci.yml)
MIN_VERSION = (0, 3, 16)  # evalcli's llama extra
# The first release with a Windows wheel on each CUDA index: 0.3.16-0.3.21 have none, so a
# pip line pinned to them cannot succeed on Windows (the CI's version is offered instead).
FIRST_WINDOWS_WHEEL = {"cu118": (0, 3, 25), "cu124": (0, 3, 22), "cu125": (0, 3, 22),
                       "cu130": (0, 3, 25), "cu132": (0, 3, 25)}


@dataclass(frozen=True)
class Index:
    tag: str
    cuda: tuple[int, int]
    min_cc: tuple[int, int]
    max_cc: tuple[int, int] | None  # None: PTX for compute_90 lets newer GPUs JIT-compile
    on_windows: bool


INDEXES = (
    Index("cu118", (11, 8), (6, 0), (8, 9), True),
    Index("cu121", (12, 1), (6, 0), None, False),
    Index("cu122", (12, 2), (6, 0), None, False),
    Index("cu123", (12, 3), (6, 0), None, False),
    Index("cu124", (12, 4), (6, 0), None, True),
    Index("cu125", (12, 5), (6, 0), None, True),
    Index("cu130", (13, 0), (7, 5), None, True),
    Index("cu132", (13, 2), (7, 5), None, True),
)


def choose_index(ccs: list[tuple[int, int]], driver_cuda: tuple[int, int] | None,
                 windows: bool) -> Index | None:
    """The newest index whose CUDA the driver runs and whose architectures cover every GPU."""
    for index in reversed(INDEXES):
        if windows and not index.on_windows:
            continue
        if driver_cuda is not None and index.cuda > tuple(driver_cuda):
            continue
        if all(index.min_cc <= cc and (index.max_cc is None or cc <= index.max_cc)
               for cc in ccs):
            return index
    return None


def _numbers(version: str | None) -> tuple[int, int, int] | None:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version or "")
    return tuple(int(n) for n in match.groups()) if match else None  # type: ignore[return-value]


def pinned_version(installed: str | None, index: Index | None = None,
                   windows: bool = False) -> str:
    """The installed version when evalcli supports it and (on Windows) the index has a wheel
    for it; else the version CI uses."""
    numbers = _numbers(installed)
    floor = MIN_VERSION
    if windows and index is not None:
        floor = max(floor, FIRST_WINDOWS_WHEEL.get(index.tag, MIN_VERSION))
    if numbers is not None and numbers >= floor:
        return ".".join(map(str, numbers))
    return FALLBACK_VERSION


def runtime_hint(index: Index, windows: bool) -> str:
    """What the CUDA wheel needs next to it, as a shell comment on the same line."""
    major = index.cuda[0]
    names = ", ".join(runtime_names(major, windows))
    if major == 13:
        where = "the CUDA Toolkit 13.x (its bin\\x64 on PATH)" if windows else \
            "the CUDA Toolkit 13.x"
    else:
        suffix = f"cu{major}"
        where = (f"the CUDA Toolkit {major}.x, or python -m pip install "
                 f"nvidia-cuda-runtime-{suffix} nvidia-cublas-{suffix} with their bin "
                 "folders on PATH")
    return f"  # needs {names}: {where}"


def wheel_command(index: Index, version: str) -> str:
    return shell.pip("install", "--force-reinstall", "--no-cache-dir",
                     "--only-binary=llama-cpp-python", f"llama-cpp-python=={version}",
                     "--extra-index-url", INDEX_URL + index.tag) + \
        runtime_hint(index, shell.windows())


def cpu_wheel_command(version: str) -> str:
    return shell.pip("install", "--force-reinstall", "--no-cache-dir",
                     "--only-binary=llama-cpp-python", f"llama-cpp-python=={version}",
                     "--extra-index-url", INDEX_URL + "cpu")


def needs_cuda_12_8(ccs: list[tuple[int, int]]) -> bool:
    """Blackwell (cc 10.x, 12.x: RTX 50 is 12.0) kernels need CUDA 12.8 or newer to build."""
    return any(cc >= (10, 0) for cc in ccs)


def build_command(ccs: list[tuple[int, int]], version: str) -> str:
    archs = ";".join(sorted({f"{major}{minor}" for major, minor in ccs})) or "native"
    return shell.env_then("CMAKE_ARGS", f"-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES={archs}",
                          shell.pip("install", "--force-reinstall", "--no-cache-dir",
                                    "--no-binary=llama-cpp-python",
                                    f"llama-cpp-python=={version}"))


def cuda_advice(ccs: list[tuple[int, int]], driver_cuda: tuple[int, int] | None,
                installed: str | None) -> tuple[str, str]:
    """(why, command) for a CUDA build that fits these GPUs and this driver."""
    index = choose_index(ccs, driver_cuda, shell.windows())
    version = pinned_version(installed, index, shell.windows())
    cc_text = ", ".join(f"{a}.{b}" for a, b in ccs) or "unknown"
    driver = f"{driver_cuda[0]}.{driver_cuda[1]}" if driver_cuda else "unknown"
    if index is not None:
        return (f"the {index.tag} wheel fits (CUDA {index.cuda[0]}.{index.cuda[1]} <= driver "
                f"CUDA {driver}; compute capability {cc_text})", wheel_command(index, version))
    if driver_cuda is not None and tuple(driver_cuda) < (11, 8):
        return (f"driver CUDA {driver} is older than every prebuilt wheel (11.8+)",
                "update the NVIDIA driver: https://www.nvidia.com/Download/index.aspx")
    return (f"no prebuilt CUDA wheel covers compute capability {cc_text} with driver CUDA "
            f"{driver}: build from source (needs the CUDA toolkit"
            f"{' 12.8 or newer' if needs_cuda_12_8(ccs) else ''}"
            f"{' and Visual Studio C++ tools' if shell.windows() else ''}; CUDA 13 cannot "
            "build for compute capability below 7.5)", build_command(ccs, version))


# -- the installed build, read without importing llama_cpp -----------------------------------
@dataclass
class WheelBuild:
    version: str | None  # None: not installed
    lib_dir: Path | None = None
    libs: list[str] = field(default_factory=list)
    cuda: bool = False  # a ggml-cuda library is present
    cuda_major: int | None = None
    source: str = ""  # where cuda_major came from


_CUDA_NAME = re.compile(rb"(?:cudart64_|cublas64_|cublasLt64_)(\d{2,3})\.dll"
                        rb"|lib(?:cudart|cublas|cublasLt)\.so\.(\d{2})")
_SCAN_BYTES = 64 << 20  # import tables sit well inside the first 64 MiB


def _major(match: re.Match) -> int:
    digits = (match.group(1) or match.group(2)).decode("ascii")
    return int(digits[:2]) if len(digits) == 3 else int(digits)  # cudart64_110 is CUDA 11


def installed_build() -> WheelBuild:
    try:
        version = metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        return WheelBuild(None)
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.origin:
        return WheelBuild(version)
    lib_dir = Path(spec.origin).parent / "lib"
    libs = sorted(p.name for p in lib_dir.iterdir()) if lib_dir.is_dir() else []
    build = WheelBuild(version, lib_dir, libs)
    cuda_libs = [name for name in libs if "ggml-cuda" in name.lower()]
    build.cuda = bool(cuda_libs)
    local = re.search(r"\+cu(\d{2})\d", version)
    if local:
        build.cuda_major, build.source = int(local.group(1)), f"version {version}"
        return build
    for name in libs:  # a bundled CUDA runtime names the major
        match = _CUDA_NAME.fullmatch(name.encode())
        if match:
            build.cuda_major, build.source = _major(match), f"bundled {name}"
            return build
    for name in cuda_libs:
        with open(lib_dir / name, "rb") as fh:
            match = _CUDA_NAME.search(fh.read(_SCAN_BYTES))
        if match:
            build.cuda_major = _major(match)
            build.source = f"{name} links {match.group(0).decode('ascii')}"
            return build
    return build


def runtime_names(major: int, windows: bool) -> list[str]:
    """The CUDA runtime and cuBLAS libraries a ggml-cuda of this major version loads."""
    if windows:
        cudart = "cudart64_110.dll" if major == 11 else f"cudart64_{major}.dll"
        return [cudart, f"cublas64_{major}.dll", f"cublasLt64_{major}.dll"]
    return [f"libcudart.so.{major}", f"libcublas.so.{major}", f"libcublasLt.so.{major}"]


def covers(archs: list[int], cc: tuple[int, int], cuda_major: int | None = None) -> str:
    """'native', 'ptx' or 'none': can a build for these archs (e.g. 610, 890) run on cc?
    PTX for a newer GPU only from the CUDA 12 and 13 builds (compute_90 PTX); the CUDA 11.8
    builds carry none that a GPU newer than their list (e.g. an RTX 50, cc 12.0) can use."""
    value = cc[0] * 100 + cc[1] * 10
    if any(a // 100 == cc[0] and a <= value for a in archs):
        return "native"
    if (cuda_major is None or cuda_major >= 12) and any(a <= value for a in archs):
        return "ptx"
    return "none"
