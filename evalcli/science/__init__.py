"""Pure functions over data: scoring one answer, per-item scores, paired statistics (stats/)
and token/cost summaries.

May import store (to read and write its files), inputs (value types: Item, config structs)
and errors; never ipc, engines, run or report, so `evalcli analyze` needs no engine.
"""
