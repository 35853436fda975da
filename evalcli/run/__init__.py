"""The run machinery: turning a plan into finished units and finished units into a report —
set-up (pipeline), plan, scheduling, supervisor, generate, later stages, resume, dashboard,
engine set-up, and analyze (the later stages on predictions made elsewhere).

May import ipc, engines, store, science, report, inputs, errors and environment; nothing
outside evalcli/cli imports it.
"""
