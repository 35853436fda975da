"""The user-facing exception tree, and its mapping to exit codes (used in one place: the CLI).

    EvalcliError                 one line that names the file, key/line, value and the fix
     ├── ConfigError      (2)    bad profile / prompt set / CLI value, unknown key
     ├── DataError        (2)    unreadable or malformed dataset, duplicate ids
     ├── EngineStartError (3)    the engine cannot start: model missing, server down
     ├── RunError         (4)    run store problems: unknown run id, lock held, config changed
     │    └── StoreWriteError    a write into the run directory failed (disk full, no
     │                           permission, a file held open by another program)
     ├── UnitsFailed      (5)    the run finished, but some units failed (listed in the report)
     └── StopRequested  (130)    the user asked the run to stop (Ctrl+C, `evalcli stop`)

Exit 6 is not an error: `evalcli gate` found a run that does not meet its criteria
(report/gate.py GATE_FAILED).

Anything else that escapes is a bug and gets a traceback.

A message quotes what it read, and what it read can be anything (a 60 MB cell, a whole
line): every message is clipped here (`clip_message`) so that it stays one readable line.
"""

from __future__ import annotations

import re

MAX_WORD = 240  # a longer run without spaces (a quoted value, a line) keeps its two ends
MAX_MESSAGE = 4000  # a longer message keeps its start and its end (the fix is at the end)
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD + 1},}}")


def _clip(text: str, head: int, tail: int) -> str:
    return f"{text[:head]}…({len(text) - head - tail:,} characters)…{text[-tail:]}"


def clip_message(message: str) -> str:
    """`message` with any over-long value in it shortened, and at most about MAX_MESSAGE
    characters in all."""
    if len(message) <= MAX_WORD:
        return message
    message = _LONG_WORD.sub(lambda m: _clip(m.group(), 160, 60), message)
    return message if len(message) <= MAX_MESSAGE else _clip(message, 2500, 1200)


class EvalcliError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        message = clip_message(message)
        super().__init__(message)
        self.message = message


class ConfigError(EvalcliError):
    exit_code = 2


class DataError(EvalcliError):
    exit_code = 2


class EngineStartError(EvalcliError):
    exit_code = 3


class RunError(EvalcliError):
    exit_code = 4


class StoreWriteError(RunError):
    pass


class UnitsFailed(EvalcliError):
    exit_code = 5


class StopRequested(EvalcliError):
    exit_code = 130
