"""Is process N still running, and is it the same process it was? (PIDs get reused.)

A process is named by its PID plus a start token — when the OS says it started — read
while it is known to be alive. Later, a PID that is running with another token is a
different process that got the number, and a zombie (dead, not yet reaped: it holds no
memory) counts as gone.

    psutil   when installed (optional; evalcli[dev] has it), on every OS: create_time(),
             status() — psutil knows each OS's structures, so nothing is hard-coded here
    without psutil:
    Linux    /proc/<pid>/stat: state, and starttime (clock ticks after boot)
    macOS    sysctl(KERN_PROC_PID): p_starttime, p_stat, read only when the kernel returns a
             struct kinfo_proc of the size this layout was written for (648 bytes, 64-bit);
             any other size falls back to os.kill(pid, 0) (running, no token)
    Windows  OpenProcess ─ GetProcessTimes (creation time) ─ GetExitCodeProcess (STILL_ACTIVE),
             every kernel32 call with its argtypes and restype (a HANDLE is 64 bits)
    other    os.kill(pid, 0) only: no token, so a reused PID cannot be told apart

A token says which probe made it ("ps:" for psutil): a lock file written by one probe and
read by the other (psutil installed in between) cannot compare tokens, so the PID is then
judged by liveness alone, as with no token — never "a different process".
"""

from __future__ import annotations

import functools
import importlib.util
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
    return running and (token is None or now is None or not _same_kind(now, token)
                        or now == token)


PSUTIL_PREFIX = "ps:"


def _same_kind(a: str, b: str) -> bool:
    return a.startswith(PSUTIL_PREFIX) == b.startswith(PSUTIL_PREFIX)


def _probe_psutil(pid: int) -> tuple[bool, str | None] | None:
    import psutil

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            created, status = process.create_time(), process.status()
    except psutil.NoSuchProcess:  # ZombieProcess is one: a zombie counts as gone
        return None
    except psutil.Error:  # AccessDenied (another user's process): ask the OS directly
        return _probe_native(pid)
    return status not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD), f"{PSUTIL_PREFIX}{created!r}"


def _probe_linux(pid: int) -> tuple[bool, str | None] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the name in (...) may hold spaces
    state, starttime = fields[0], fields[19]  # fields 3 and 22 of proc(5)
    return state not in ("Z", "X", "x"), starttime


KINFO_PROC_SIZE = 648  # sizeof(struct kinfo_proc) on 64-bit macOS (x86_64 and arm64)


def _probe_darwin(pid: int) -> tuple[bool, str | None] | None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.sysctl.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_uint, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.c_size_t]
    libc.sysctl.restype = ctypes.c_int
    mib = (ctypes.c_int * 4)(1, 14, 1, pid)  # CTL_KERN, KERN_PROC, KERN_PROC_PID, pid
    buf = ctypes.create_string_buffer(1024)
    size = ctypes.c_size_t(ctypes.sizeof(buf))
    if libc.sysctl(mib, 4, buf, ctypes.byref(size), None, 0) != 0:
        return None
    if size.value == 0:
        return None  # no such process
    if size.value != KINFO_PROC_SIZE:
        return _probe_other(pid)  # a layout these offsets were not written for: no token
    # struct extern_proc: p_starttime (timeval: int64 s, int32 us) at 0, p_stat (char) at 36
    seconds, micros = struct.unpack_from("=qi", buf.raw, 0)
    zombie = buf.raw[36] == 5  # SZOMB
    return not zombie, f"{seconds}.{micros:06d}"


@functools.cache
def _kernel32():
    import ctypes
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    k32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    k32.OpenProcess.restype = wintypes.HANDLE
    k32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    k32.GetExitCodeProcess.restype = wintypes.BOOL
    filetime = ctypes.POINTER(wintypes.FILETIME)
    k32.GetProcessTimes.argtypes = [wintypes.HANDLE, filetime, filetime, filetime, filetime]
    k32.GetProcessTimes.restype = wintypes.BOOL
    k32.CloseHandle.argtypes = [wintypes.HANDLE]
    k32.CloseHandle.restype = wintypes.BOOL
    return k32


def _probe_windows(pid: int) -> tuple[bool, str | None] | None:
    import ctypes
    from ctypes import wintypes

    kernel32 = _kernel32()
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
    _probe_native = _probe_linux
elif sys.platform == "darwin":
    _probe_native = _probe_darwin
elif sys.platform == "win32":
    _probe_native = _probe_windows
else:
    _probe_native = _probe_other

# psutil is imported on first use (the CLI chain stays light); installed, it is the probe
_probe = _probe_psutil if importlib.util.find_spec("psutil") else _probe_native
