"""Process mechanics: typed messages, framed channels, the worker main loop, the pool.

Knows nothing of runs, stages or the CLI: it carries engine requests and completions.
"""
