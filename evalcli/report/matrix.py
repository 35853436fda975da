"""The per-trial matrix of a sweep: one row per trial × book type, one column per condition.

    significance.json of every trial ──trial_matrix──► (note, headers, rows) (EM % [95% CI] per condition)

Only for runs with several trials (a sweep over prompt sets, models, temperatures, top_p,
top_k or max_tokens): it shows at a glance where each condition does best. The numbers are
significance.json's per-arm means and intervals; nothing is computed here.
"""

from __future__ import annotations

from evalcli.report.text import esc
from evalcli.report.verdict import _ci, _pct

_SETTINGS = (("model", "model"), ("prompt_set", "prompt set"), ("temperature", "T"),
             ("top_p", "top_p"), ("top_k", "top_k"), ("max_tokens", "max_tokens"))


def _value(params: dict, key: str) -> str:
    value = params.get(key)
    if isinstance(value, dict):
        return f"{value.get('open')}/{value.get('closed')}"
    return "—" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def trial_matrix(significance: dict[str, dict], control: str
                 ) -> tuple[str, list[str], list[list[str]]] | None:
    """(note, headers, rows) of the matrix, or None for a run with one trial."""
    if len(significance) < 2:
        return None
    params = {slug: (sig.get("trial") or {}).get("params") or {}
              for slug, sig in significance.items()}
    swept = [(k, name) for k, name in _SETTINGS
             if len({_value(p, k) for p in params.values()}) > 1]
    conditions = [control] + list(dict.fromkeys(
        c["treatment"] for sig in significance.values() for c in sig.get("comparisons", [])))
    rows = []
    for slug, sig in significance.items():
        by_type: dict[str, dict[str, str]] = {}
        for comp in sig.get("comparisons", []):
            if comp["dataset"] != "all":
                continue
            m = comp["metrics"].get("em") or {}
            cells = by_type.setdefault(comp["type"], {})
            for arm, name in (("control", control), ("treatment", comp["treatment"])):
                if m.get(f"{arm}_mean") is not None:
                    cells[name] = (f"{_pct(m[f'{arm}_mean'])} "
                                   f"{_ci(m.get(f'{arm}_ci_low'), m.get(f'{arm}_ci_high'))}")
        label = [esc(_value(params[slug], k)) for k, _ in swept] if swept else [esc(slug)]
        for typ, cells in by_type.items():
            rows.append([*label, typ, *(cells.get(c, "—") for c in conditions)])
    headers = [name for _, name in swept] if swept else ["trial"]
    return ("EM in percent with its 95% interval, per trial (the settings that vary) and book "
            "type, one column per condition; the other metrics are in the tables below.",
            [*headers, "type", *(f"EM {esc(c)}" for c in conditions)], rows)
