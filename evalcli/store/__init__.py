"""The run directory on disk: paths and run ids, the manifest, results.jsonl, the run lock,
atomic writes and the clock, run listing, predictions.csv and the custom_id format.

May import only errors: it knows nothing of runs being executed, engines or statistics.
"""
