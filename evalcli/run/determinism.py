"""The determinism check (`--check-determinism K`, `[cache] check_determinism`): are the
recorded answers what the model gives now?

    finished ok units ──K chosen at random (seeded by the run id)──► fresh worker processes
        (not the workers that answered them, no KV cache from the run; with reuse on, the
        recorded answer of a reused unit is the stored one)
    re-run answer == recorded answer ?  ──► run.json `determinism`: checked, identical, and
                                             each differing unit with both texts
    a difference on a model whose answers were reused ──► reuse turned off for that model
                                                          in the answer store (said once)

The re-runs are written nowhere but run.json: results.jsonl keeps the answers the run used.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import msgspec

from evalcli.errors import EvalcliError
from evalcli.report.setup_facts import determinism_sentence
from evalcli.run.pipeline import Setup
from evalcli.run.plan import Unit
from evalcli.store.manifest import DeterminismCheck, Manifest, Rerun
from evalcli.store.results import LatestResults, ResultRecord, read_statuses
from evalcli.store.rundir import EventLog

TEXT_LIMIT = 2000  # characters of each text kept in run.json for a differing unit


def choose(setup: Setup, k: int) -> set[str]:
    """K custom_ids of units with an ok answer, chosen at random with the run id as seed."""
    statuses = {t.slug: read_statuses(setup.run_dir.results(t.slug))[0]
                for t in setup.plan.trials}
    ok = [unit.custom_id for unit in setup.plan.units
          if statuses[unit.trial].get(unit.custom_id) == "ok"]
    seed = int.from_bytes(hashlib.sha256(setup.run_dir.run_id.encode()).digest()[:8], "big")
    return set(random.Random(seed).sample(ok, min(k, len(ok))))


def _rerun(setup: Setup, chosen: set[str]) -> tuple[str, dict[str, tuple[Unit, ResultRecord]]]:
    """Run the chosen units in new worker processes; (status, custom_id -> (unit, record))."""
    from evalcli.run.supervisor import Supervisor, SupervisorSettings

    units = setup.plan.units.select(lambda chunk: [u.custom_id in chosen for u in chunk])
    got: dict[str, tuple[Unit, ResultRecord]] = {}
    run = setup.profile.run
    rd = setup.run_dir
    settings = SupervisorSettings(
        engine=setup.engine.name, options=msgspec.to_builtins(setup.engine.options),
        workers=max(1, min(setup.engine.workers, len(units))),
        unit_timeout_s=run.unit_timeout_s, max_crashes_per_unit=run.max_crashes_per_unit,
        max_engine_retries=run.max_engine_retries,
        max_consecutive_failures=run.max_consecutive_failures,
        variant_options=[msgspec.to_builtins(e.options) for e in setup.variants])
    rd.logs.mkdir(parents=True, exist_ok=True)
    events = EventLog(rd.events)
    try:
        supervisor = Supervisor(
            settings=settings, units=units, make_request=setup.plan.request,
            on_result=lambda unit, record: got.__setitem__(unit.custom_id, (unit, record)),
            events=events, log_path=lambda i: str(rd.logs / f"determinism-worker-{i}.log"),
            stop_requested=rd.stop_requested)
        outcome = supervisor.run()
    finally:
        events.close()
    return outcome.status, got


def check_determinism(setup: Setup, manifest: Manifest, reuse,
                      note: Callable[[str], None]) -> DeterminismCheck | None:
    """Re-run K units, compare, record run.json `determinism` and say the figure in one
    line; None when the check could not run to its end (stopped; a resume runs it)."""
    k = setup.profile.cache.check_determinism
    chosen = choose(setup, k)
    if not chosen:
        return None
    note(f"determinism check: re-running {len(chosen)} unit(s) in fresh workers")
    try:
        status, got = _rerun(setup, chosen)
    except EvalcliError as exc:
        note(f"warning: the determinism check could not run: {exc.message}")
        return None
    if status != "completed":
        note("determinism check stopped; `evalcli resume` runs it again")
        return None
    check = DeterminismCheck(checked=0, identical=0)
    bad_variants: set[int] = set()
    files = {}
    try:
        for custom_id, (unit, fresh) in sorted(got.items()):
            if unit.trial not in files:
                files[unit.trial] = LatestResults(setup.run_dir.results(unit.trial))
            recorded = files[unit.trial].get(custom_id)
            if fresh.status != "ok" or recorded is None:
                check.failed += 1
                continue
            check.checked += 1
            reused = recorded.reused_from.label() if recorded.reused_from else ""
            check.reused_checked += bool(reused)
            if fresh.text == recorded.text:
                check.identical += 1
                continue
            check.differing.append(Rerun(custom_id=custom_id, recorded=recorded.text[:TEXT_LIMIT],
                                         rerun=fresh.text[:TEXT_LIMIT], reused_from=reused))
            bad_variants.add(unit.variant)
    finally:
        for results in files.values():
            results.close()
    if reuse is not None:
        for variant in sorted(bad_variants):
            label = reuse.disable(variant, f"the determinism check of run "
                                          f"{setup.run_dir.run_id} found answers that differ "
                                          "when run again")
            if label:
                check.reuse_turned_off.append(label)
    manifest.determinism = check
    note(f"determinism check: {determinism_sentence(check)}")
    for label in check.reuse_turned_off:
        note(f"warning: reuse is now off for {label}: re-run answers differ from the recorded "
             f"ones (`evalcli cache clear --model {label}` turns it on again)")
    return check


