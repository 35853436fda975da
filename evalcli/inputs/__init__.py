"""What a run is made of: the profile config, prompt sets, canonical items, dataset loaders
(datasets/), the bundled data (data/) and the embedded demo model.

May import profiles, engines (their option and value types), store (atomic writes) and
errors; never science, report, run or ipc.
"""
