"""The run machinery: turning a plan into finished units and finished units into a report —
set-up (pipeline), plan, scheduling, supervisor, generate, later stages, resume, dashboard,
engine set-up. `evalcli analyze` and `evalcli compare` live in evalcli/analysis: they read
files and run nothing.

May import ipc, engines, store, science, report, inputs, errors and environment; nothing
outside evalcli/cli imports it.
"""
