"""Fix commands written for the user's shell: PowerShell on Windows, a POSIX shell elsewhere.

Every command doctor prints is meant to be pasted as is: no `<placeholders>`, quoting that
the shell accepts, and environment variables set the way that shell sets them.

    env_then("CMAKE_ARGS", "-DGGML_CUDA=on", pip("install", ...))
      PowerShell: $env:CMAKE_ARGS = "-DGGML_CUDA=on"; python -m pip install ...
      POSIX:      CMAKE_ARGS="-DGGML_CUDA=on" python -m pip install ...
"""

from __future__ import annotations

import shlex
import sys

VC_REDIST = ("winget install --id Microsoft.VCRedist.2015+.x64 -e  (or run "
             "https://aka.ms/vs/17/release/vc_redist.x64.exe)")


def windows() -> bool:
    return sys.platform == "win32"


def quote(arg: str) -> str:
    """One argument, quoted only when the shell needs it."""
    if windows():
        plain = all(ch.isalnum() or ch in "-_.:/\\=+,@" for ch in arg)
        return arg if plain and arg else '"' + arg.replace('"', '`"') + '"'
    return shlex.quote(arg)


def pip(*args: str) -> str:
    """`python -m pip ...`: the interpreter of the active virtual environment, on every OS."""
    return "python -m pip " + " ".join(quote(a) for a in args)


def env_then(var: str, value: str, command: str) -> str:
    if windows():
        return f'$env:{var} = "{value}"; {command}'
    return f'{var}="{value}" {command}'


def set_env(var: str, value: str) -> str:
    return f'$env:{var} = "{value}"' if windows() else f'export {var}="{value}"'


def ask_secret(var: str) -> str:
    """Set a secret for this terminal without it ever appearing in a command."""
    if windows():
        return f"$env:{var} = Read-Host '{var}'"
    return f"read -rs {var} && export {var}"


def python_c(code: str) -> str:
    return f"python -c {quote(code)}"


def remove(path) -> str:
    return f"Remove-Item -LiteralPath {quote(str(path))}" if windows() else f"rm -- {quote(str(path))}"
