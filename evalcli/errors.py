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
"""

from __future__ import annotations


class EvalcliError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
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
