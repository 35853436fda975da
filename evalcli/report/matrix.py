"""The per-trial matrix of a sweep: one row per trial × book type, one column per condition.

    significance.json of every trial ──trial_matrix──► (note, headers, rows) (EM % [95% CI] per condition)

Only for runs with several trials (a sweep over prompt sets, models, temperatures, top_p,
top_k or max_tokens): it shows at a glance where each condition does best. The numbers are
significance.json's per-arm means and intervals; nothing is computed here.
"""

from __future__ import annotations

from typing import Literal

from evalcli.report import numbers as fmt
from evalcli.report.text import esc
from evalcli.science.stats.schema import Significance

_SETTINGS = (("model", "model"), ("prompt_set", "prompt set"), ("temperature", "T"),
             ("top_p", "top_p"), ("top_k", "top_k"), ("max_tokens", "max_tokens"))


def _value(params: dict[str, object], key: str) -> str:
    value = params.get(key)
    if isinstance(value, dict):
        return f"{value.get('open')}/{value.get('closed')}"
    return "—" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def trial_matrix(significance: dict[str, Significance], control: str
                 ) -> tuple[str, list[str], list[list[str]]] | None:
    """(note, headers, rows) of the matrix, or None for a run with one trial."""
    if len(significance) < 2:
        return None
    params = {slug: sig.trial.params if sig.trial else {}
              for slug, sig in significance.items()}
    swept = [(k, name) for k, name in _SETTINGS
             if len({_value(p, k) for p in params.values()}) > 1]
    conditions = [control] + list(dict.fromkeys(
        c.treatment for sig in significance.values() for c in sig.comparisons))
    rows = []
    for slug, sig in significance.items():
        by_type: dict[str, dict[str, str]] = {}
        for comp in sig.overall():
            m = comp.metrics.get("em")
            if m is None:
                continue
            cells = by_type.setdefault(comp.type, {})
            arm: Literal["control", "treatment"]
            for arm, name in (("control", control), ("treatment", comp.treatment)):
                mean = m.arm_mean(arm)
                if mean is not None:
                    cells[name] = f"{fmt.pct(mean)} {fmt.ci(*m.arm_ci(arm))}"
        label = [esc(_value(params[slug], k)) for k, _ in swept] if swept else [esc(slug)]
        for typ, cells in by_type.items():
            rows.append([*label, typ, *(cells.get(c, "—") for c in conditions)])
    headers = [name for _, name in swept] if swept else ["trial"]
    return ("EM in percent with its 95% interval, per trial (the settings that vary) and book "
            "type, one column per condition; the other metrics are in the tables below.",
            [*headers, "type", *(f"EM {esc(c)}" for c in conditions)], rows)
