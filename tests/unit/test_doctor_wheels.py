"""The wheel line the doctor prints, over (installed version, driver CUDA, compute
capability, OS): an index the driver runs and whose kernels cover the GPU, a version that
has a wheel on that index (Windows: cu124/cu125 from 0.3.22, cu118/cu130/cu132 from 0.3.25),
and the runtime DLLs it needs on the same line."""

from __future__ import annotations

import sys

import pytest

from evalcli.doctor.cuda import covers, cuda_advice

WIN, LINUX = "win32", "linux"


@pytest.mark.parametrize("installed, driver, cc, os_name, index, version", [
    ("0.3.36", (12, 6), (8, 9), WIN, "cu125", "0.3.36"),
    ("0.3.20", (12, 6), (8, 9), WIN, "cu125", "0.3.36"),   # no Windows wheel for 0.3.20
    ("0.3.22", (12, 4), (8, 9), WIN, "cu124", "0.3.22"),   # the first cu124 Windows wheel
    ("0.3.23", (12, 2), (8, 6), WIN, "cu118", "0.3.36"),   # cu118 on Windows from 0.3.25
    ("0.3.25", (12, 2), (8, 6), WIN, "cu118", "0.3.25"),
    ("0.3.24", (13, 0), (8, 9), WIN, "cu130", "0.3.36"),   # cu130 on Windows from 0.3.25
    (None, (13, 0), (6, 1), WIN, "cu125", "0.3.36"),       # GTX 1080: CUDA 13 dropped Pascal
    ("0.3.36", (12, 8), (12, 0), WIN, "cu125", "0.3.36"),  # RTX 50 through cu12's PTX
    ("0.3.20", (12, 2), (8, 9), LINUX, "cu122", "0.3.20"),  # Linux has cu121-cu123 too
    ("0.3.10", (12, 2), (8, 9), LINUX, "cu122", "0.3.36"),  # below evalcli's minimum
    ("0.3.36", (11, 4), (8, 6), WIN, "driver", ""),         # older than every wheel
    ("0.3.36", (12, 6), (5, 2), WIN, "build", "0.3.36"),    # Maxwell: no prebuilt kernels
])
def test_wheel_line_table(monkeypatch, installed, driver, cc, os_name, index, version):
    monkeypatch.setattr(sys, "platform", os_name)
    why, command = cuda_advice([cc], driver, installed)
    if index == "driver":
        assert "update the NVIDIA driver" in command and "older than every" in why
        return
    assert f"llama-cpp-python=={version}" in command, command
    if index == "build":
        assert "--no-binary=llama-cpp-python" in command
        assert f"-DCMAKE_CUDA_ARCHITECTURES={cc[0]}{cc[1]}" in command
        return
    assert command.split("  # ")[0].endswith(f"/whl/{index}"), command
    major = int(index[2:4])
    runtime = (f"cudart64_{'110' if major == 11 else major}.dll" if os_name == WIN
               else f"libcudart.so.{major}")
    assert f"# needs {runtime}, " in command, command
    if major in (11, 12):
        assert f"nvidia-cuda-runtime-cu{major} nvidia-cublas-cu{major}" in command


def test_rtx_50_build_needs_cuda_12_8(monkeypatch):
    monkeypatch.setattr(sys, "platform", WIN)
    why, command = cuda_advice([(12, 0)], (12, 0), "0.3.36")  # no prebuilt index fits
    assert "-DCMAKE_CUDA_ARCHITECTURES=120" in command and "CUDA toolkit 12.8 or newer" in why


@pytest.mark.parametrize("archs, cc, major, fit", [
    ([610, 890], (8, 9), 12, "native"),
    ([610, 890, 900], (12, 0), 12, "ptx"),
    ([610, 890], (12, 0), 11, "none"),   # a cu118 build on an RTX 50: no usable PTX
    ([750, 900], (6, 1), 13, "none"),
])
def test_covers(archs, cc, major, fit):
    assert covers(archs, cc, major) == fit
