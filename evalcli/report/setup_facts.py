"""The report's Setup lines and the sentences on reused answers and the determinism check:
wording lives in report/, the run machinery hands over plain facts (run/stages.py
report_stage; the end-of-run lines of run/summary.py use the same sentences).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec

from evalcli.store.manifest import AnswerReuse, DeterminismCheck, Manifest, MaxTokens

SWEEPABLE = ("temperature", "top_p", "top_k", "max_tokens", "prompt_set", "model")
SHOWN_DIFFERING = 10  # differing re-runs written into the report (the rest: run.json)
TEXT_CUT = 300


def setting(value: object) -> str:
    """A trial setting as the report writes it: max_tokens "24/16 (open/closed)", a list as
    the profile's TOML writes it (stop = ["Q:", "\\n"]), never a Python repr."""
    if isinstance(value, MaxTokens):
        value = msgspec.to_builtins(value)
    if isinstance(value, dict) and set(value) == {"open", "closed"}:
        return f"{value['open']}/{value['closed']} (open/closed)"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) if isinstance(v, str) else str(v)
                               for v in value) + "]"
    return str(value)


def swept(trial_params: Sequence[Any]) -> list[str]:
    """The trial settings that take several values in this run (temperature always listed);
    each item is a trial's TrialParams (store/manifest.py)."""
    return [k for k in SWEEPABLE if k == "temperature" or len(
        {str(p.get(k)) for p in trial_params}) > 1]


def sampling_line(trial_params: Sequence[Any]) -> str:
    """Every setting of the first trial not swept, then each swept one with its values."""
    varying = swept(trial_params)
    return (", ".join(f"{k}={setting(v)}" for k, v in
                      msgspec.to_builtins(trial_params[0]).items() if k not in varying)
            + "; swept: " + "; ".join(
                f"{k} " + ", ".join(sorted({setting(p.get(k)) for p in trial_params}))
                for k in varying))


def items_line(types: Sequence[str], answerable: Sequence[bool]) -> str:
    """"146 (75 open-book, 71 closed-book; 27 unanswerable)"."""
    return (f"{len(types)} ({sum(t == 'open' for t in types)} open-book, "
            f"{sum(t == 'closed' for t in types)} closed-book; "
            f"{sum(not a for a in answerable)} unanswerable)")


def prompt_sets_line(prompt_sets: Sequence[tuple[str, Sequence[str]]], control: str) -> str:
    """"worked-examples — conditions: control, examples (control: control)"."""
    return ("; ".join(f"{name} — conditions: " + ", ".join(conditions)
                      for name, conditions in prompt_sets) + f" (control: {control})")


def reuse_sentence(reuse: AnswerReuse, units: int) -> str:
    """"146 of 292 answers reused from run r1"; "" when none was."""
    if not reuse.reused:
        return ""
    runs = sorted(reuse.from_runs.items(), key=lambda kv: -kv[1])
    where = ", ".join(f"{run}" + (f" ({n})" if len(runs) > 1 else "") for run, n in runs[:3])
    if len(runs) > 3:
        where += f" and {len(runs) - 3} more"
    plural = "s" if len(runs) > 1 else ""
    return f"{reuse.reused} of {units} answers reused from run{plural} {where}"


def determinism_sentence(check: DeterminismCheck) -> str:
    """"8 of 8 re-run units identical" (+ how many recorded answers came from the store)."""
    text = f"{check.identical} of {check.checked} re-run units identical"
    if check.reused_checked:
        text += f" ({check.reused_checked} of them compared with reused answers)"
    if check.failed:
        text += f"; {check.failed} re-run(s) failed"
    return text


def _quoted(text: str) -> str:
    """An answer quoted as JSON writes a string (escapes shown), cut to TEXT_CUT characters."""
    return json.dumps(text[:TEXT_CUT], ensure_ascii=False)


def reuse_facts(manifest: Manifest, units: int) -> dict[str, str]:
    """The report's lines on reused answers and the determinism check (docs/reuse.md)."""
    facts = {}
    if isinstance(manifest.reuse, AnswerReuse):
        said = reuse_sentence(manifest.reuse, units)
        facts["answers reused"] = (
            f"{said} (answer store; the model was not called for them). Reused answers "
            "have no latency, energy, CPU or worker time of their own: resource comparisons "
            "use fresh units only"
            if said else f"0 of {units} answers reused (reuse was on)")
    check = manifest.determinism
    if isinstance(check, DeterminismCheck):
        facts["determinism check"] = determinism_sentence(check) + (
            "" if not check.reuse_turned_off else
            "; reuse is now off for " + ", ".join(check.reuse_turned_off))
        for rerun in check.differing[:SHOWN_DIFFERING]:
            facts[f"not identical: {rerun.custom_id}"] = (
                f"recorded {_quoted(rerun.recorded)}"
                + (f" (reused from {rerun.reused_from})" if rerun.reused_from else "")
                + f"; re-run {_quoted(rerun.rerun)}")
        if len(check.differing) > SHOWN_DIFFERING:
            facts["not identical (more)"] = (f"{len(check.differing) - SHOWN_DIFFERING} more "
                                             "in run.json `determinism`")
    return facts
