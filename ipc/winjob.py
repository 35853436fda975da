"""Windows: one job object per supervisor, with kill-on-job-close, holding every worker.

    supervisor ─ CreateJobObjectW ─ SetInformationJobObject(LIMIT_KILL_ON_JOB_CLOSE)
        └─ each worker started: OpenProcess(SET_QUOTA | TERMINATE) ─ AssignProcessToJobObject

The job handle is never closed by evalcli and is not inheritable: it closes when the
supervisor process ends — normally, by TerminateProcess, by a closed console — and the OS
then ends every worker still in the job. Assignment right after spawn leaves a window of
milliseconds in which a dying supervisor would miss a worker; the worker's own watcher
thread (ipc/lifeline.py) covers it. On other platforms `contain` does nothing.

`kernel32` is a module attribute so tests on any platform can substitute a fake.
"""

from __future__ import annotations

import ctypes
import sys

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9
PROCESS_TERMINATE = 0x0001
PROCESS_SET_QUOTA = 0x0100


class BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class ExtendedLimits(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", BasicLimits),
        ("IoInfo", IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


kernel32 = None  # loaded on first use (Windows only)
_job = None  # this process's job handle; deliberately never closed


def _load_kernel32():
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    k32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    k32.CreateJobObjectW.restype = wintypes.HANDLE
    k32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                            wintypes.DWORD]
    k32.SetInformationJobObject.restype = wintypes.BOOL
    k32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    k32.OpenProcess.restype = wintypes.HANDLE
    k32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    k32.AssignProcessToJobObject.restype = wintypes.BOOL
    k32.CloseHandle.argtypes = [wintypes.HANDLE]
    k32.CloseHandle.restype = wintypes.BOOL
    return k32


def _kill_on_close_job():
    """This process's kill-on-close job, created on first use; None when Windows refuses."""
    global kernel32, _job
    if _job is None:
        if kernel32 is None:
            kernel32 = _load_kernel32()
        job = kernel32.CreateJobObjectW(None, None)
        if not job:
            return None
        limits = ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not kernel32.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
                                                ctypes.byref(limits), ctypes.sizeof(limits)):
            kernel32.CloseHandle(job)
            return None
        _job = job
    return _job


def contain(pid: int, *, platform: str = sys.platform) -> bool:
    """Put process `pid` (a worker just started) in the supervisor's kill-on-close job.

    True when it is in; False on other platforms or when Windows refuses (e.g. an old
    Windows without nested jobs, inside a job that forbids it): the worker's watcher
    thread is then what ends it.
    """
    if platform != "win32":
        return False
    job = _kill_on_close_job()
    if job is None:
        return False
    process = kernel32.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, False, pid)
    if not process:
        return False
    try:
        return bool(kernel32.AssignProcessToJobObject(job, process))
    finally:
        kernel32.CloseHandle(process)
