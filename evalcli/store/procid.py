"""Is process N still running, and is it the same process it was? (PIDs get reused.)

A process is named by its PID plus a start token — when the OS says it started — read
while it is known to be alive. Later, a PID that is running with another token is a
different process that got the number, and a zombie (dead, not yet reaped: it holds no
memory) counts as gone.

    Linux    /proc/<pid>/stat: state, and starttime (clock ticks after boot)
    macOS    sysctl(KERN_PROC_PID): p_starttime, p_stat
    Windows  OpenProcess ─ GetProcessTimes (creation time) ─ GetExitCodeProcess (STILL_ACTIVE)
    other    os.kill(pid, 0) only: no token, so a reused PID cannot be told apart
"""

from __future__ import annotations

import os
import struct
import sys


def start_token(pid: int) -> str | None:
    """The start token of live process `pid`, or None when it is gone or cannot be read."""
    info = _probe(pid)
    return info[1] if info else None


def is_running(pid: int, token: str | None = None) -> bool:
    """True when `pid` runs (not a zombie) and, if a token is given and the OS gives one
    now, it is the same process."""
    if pid <= 0:
        return False
    info = _probe(pid)
    if info is None:
        return False
    running, now = info
    return running and (token is None or now is None or now == token)


def _probe_linux(pid: int) -> tuple[bool, str | None] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the name in (...) may hold spaces
    state, starttime = fields[0], fields[19]  # fields 3 and 22 of proc(5)
    return state not in ("Z", "X", "x"), starttime


def _probe_darwin(pid: int) -> tuple[bool, str | None] | None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.sysctl.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_uint, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.c_size_t]
    mib = (ctypes.c_int * 4)(1, 14, 1, pid)  # CTL_KERN, KERN_PROC, KERN_PROC_PID, pid
    buf = ctypes.create_string_buffer(1024)  # sizeof(struct kinfo_proc) is 648
    size = ctypes.c_size_t(ctypes.sizeof(buf))
    if libc.sysctl(mib, 4, buf, ctypes.byref(size), None, 0) != 0 or size.value < 40:
        return None
    # struct extern_proc: p_starttime (timeval: int64 s, int32 us) at 0, p_stat (char) at 36
    seconds, micros = struct.unpack_from("=qi", buf.raw, 0)
    zombie = buf.raw[36] == 5  # SZOMB
    return not zombie, f"{seconds}.{micros:06d}"


def _probe_windows(pid: int) -> tuple[bool, str | None] | None:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return None
        created, exited, kernel, user = (wintypes.FILETIME() for _ in range(4))
        token = None
        if kernel32.GetProcessTimes(handle, ctypes.byref(created), ctypes.byref(exited),
                                    ctypes.byref(kernel), ctypes.byref(user)):
            token = str((created.dwHighDateTime << 32) | created.dwLowDateTime)
        return code.value == 259, token  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _probe_other(pid: int) -> tuple[bool, str | None] | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return True, None  # it exists, owned by someone else
    except OSError:
        return None
    return True, None


if sys.platform.startswith("linux"):
    _probe = _probe_linux
elif sys.platform == "darwin":
    _probe = _probe_darwin
elif sys.platform == "win32":
    _probe = _probe_windows
else:
    _probe = _probe_other
