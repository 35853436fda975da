"""The report: Markdown (markdown.py builds the sections once), HTML with plots (html.py), and
the plain-word verdicts and number formats both share (verdict.py).

May import science, store, inputs and errors; never ipc, engines or run.
"""
