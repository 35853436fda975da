"""Analysis of answers already made, outside the run machinery: `evalcli analyze` (score,
statistics, costs and the report for predictions made elsewhere, analyze.py) and `evalcli
compare` (runs paired on the items and conditions they share, compare.py).

Both read files only — predictions, items, a run directory or its archive — and call the same
science and report functions as a run's later stages, so they work without any engine
installed. May import science, report, store, inputs and errors; never run, ipc or engines.
"""
