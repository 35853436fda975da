"""The batch driver: a remote batch engine (fireworks_batch, openai_batch) run from this
process instead of the worker pool.

    run_batch ──► engine.run(requests, saved state, save_state, on_batch_result, stop?)
        save_state     the remote jobs in run.json (`batch`), so a resumed run re-attaches
                       to them instead of submitting again
        on_batch_result one record per unit, at most once (a repeat is an event, not a row)
        Ctrl+C / SIGTERM / STOP file: polling stops; the remote job runs on
"""

from __future__ import annotations

import signal

from engines.base import EngineError
from evalcli.errors import EngineStartError
from evalcli.run.pipeline import Setup
from evalcli.run.plan import Units
from evalcli.run.supervisor import install_stop_handlers
from evalcli.store import events as ev
from evalcli.store.manifest import Manifest, write_manifest
from evalcli.store.results import failed_record, ok_record
from evalcli.store.rundir import EventLog, RunDir


def run_batch(setup: Setup, manifest: Manifest, todo: Units, on_result,
              events: EventLog, rd: RunDir, should_stop) -> tuple[str, dict]:
    """Drive a batch engine from this process; Ctrl+C / SIGTERM / STOP stop polling (the
    remote job runs on, and a resume re-attaches to it)."""
    by_id = {unit.custom_id: unit for unit in todo}
    reported: set[str] = set()
    signals = []

    def on_signal(signum, frame) -> None:
        signals.append(signum)

    def on_batch_result(custom_id: str, result) -> None:
        unit = by_id.get(custom_id)
        if unit is None or custom_id in reported:
            events.emit(ev.UnexpectedResult(unit=custom_id))
            return
        reported.add(custom_id)
        if isinstance(result, EngineError):
            record = failed_record(custom_id, str(result), result.kind, worker=-1, attempts=1)
        else:
            record = ok_record(custom_id, result, worker=-1, attempts=1)
        on_result(unit, record)

    def save_state(state: dict) -> None:
        manifest.batch = state
        write_manifest(rd.manifest, manifest)
        events.emit(ev.BatchState(jobs=[{k: job.get(k) for k in ("key", "status", "remote_state")}
                                        for job in state.get("jobs", [])]))

    previous = install_stop_handlers(on_signal)
    engine = setup.engine.cls(setup.engine.options)
    try:
        engine.run([setup.plan.request(u) for u in todo], dict(manifest.batch), save_state,
                   on_batch_result, lambda: bool(signals) or bool(should_stop()))
    except EngineError as exc:
        raise EngineStartError(f"the {setup.engine.name} job could not be completed: {exc}") \
            from None
    finally:
        engine.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    status = "completed" if len(reported) == len(todo) else "stopped"
    return status, engine.describe()
