"""The Windows job object code path, driven on any platform through a fake kernel32 (the
real one runs on Windows CI via tests/process/test_lifeline.py)."""

from __future__ import annotations

import ctypes

import pytest

from ipc import winjob


class FakeKernel32:
    def __init__(self, *, open_ok=True, assign_ok=True, set_ok=True):
        self.calls = []
        self.open_ok, self.assign_ok, self.set_ok = open_ok, assign_ok, set_ok

    def CreateJobObjectW(self, attributes, name):  # noqa: N802 - the Win32 names
        self.calls.append(("CreateJobObjectW", attributes, name))
        return 0x70

    def SetInformationJobObject(self, job, info_class, info, size):  # noqa: N802
        limits = ctypes.cast(info, ctypes.POINTER(winjob.ExtendedLimits)).contents
        self.calls.append(("SetInformationJobObject", job, info_class,
                           limits.BasicLimitInformation.LimitFlags, size))
        return self.set_ok

    def OpenProcess(self, access, inherit, pid):  # noqa: N802
        self.calls.append(("OpenProcess", access, inherit, pid))
        return 0x90 + pid if self.open_ok else 0

    def AssignProcessToJobObject(self, job, process):  # noqa: N802
        self.calls.append(("AssignProcessToJobObject", job, process))
        return self.assign_ok

    def CloseHandle(self, handle):  # noqa: N802
        self.calls.append(("CloseHandle", handle))
        return 1


@pytest.fixture
def fake(monkeypatch):
    def install(**kwargs):
        k32 = FakeKernel32(**kwargs)
        monkeypatch.setattr(winjob, "kernel32", k32)
        monkeypatch.setattr(winjob, "_job", None)
        return k32
    return install


def test_one_kill_on_close_job_holds_every_worker(fake):
    k32 = fake()
    assert winjob.contain(1, platform="win32") and winjob.contain(2, platform="win32")
    assert k32.calls == [
        ("CreateJobObjectW", None, None),
        ("SetInformationJobObject", 0x70, 9, 0x2000, ctypes.sizeof(winjob.ExtendedLimits)),
        ("OpenProcess", 0x0101, False, 1),
        ("AssignProcessToJobObject", 0x70, 0x91),
        ("CloseHandle", 0x91),
        ("OpenProcess", 0x0101, False, 2),
        ("AssignProcessToJobObject", 0x70, 0x92),
        ("CloseHandle", 0x92),
    ]  # the job handle itself is never closed: its closing at exit is what kills workers


def test_refusals_leave_the_worker_to_its_watcher(fake):
    k32 = fake(assign_ok=False)
    assert winjob.contain(5, platform="win32") is False
    assert k32.calls[-1] == ("CloseHandle", 0x95)
    k32 = fake(open_ok=False)
    assert winjob.contain(6, platform="win32") is False
    assert not any(call[0] == "AssignProcessToJobObject" for call in k32.calls)
    k32 = fake(set_ok=False)
    assert winjob.contain(7, platform="win32") is False
    assert ("CloseHandle", 0x70) in k32.calls and winjob._job is None


def test_other_platforms_do_nothing(fake):
    k32 = fake()
    assert winjob.contain(1, platform="linux") is False and k32.calls == []


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="64-bit layout")
def test_struct_layout_matches_windows_x64():
    assert ctypes.sizeof(winjob.BasicLimits) == 64
    assert winjob.BasicLimits.LimitFlags.offset == 16
    assert ctypes.sizeof(winjob.ExtendedLimits) == 144
