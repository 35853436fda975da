"""The supervisor's failure policy (run/ledger.py), row by row, without a process.

Each test pins one row of the failure table at its boundary (the last try that is retried,
the first that is not), so that a rule changed by one — `<` for `<=`, a counter not reset —
fails here in milliseconds rather than in a process test that starts workers.
"""

from __future__ import annotations

import pytest

from evalcli.run.ledger import (
    MAX_BOOT_FAILURES,
    RESTART_BACKOFF_S,
    Death,
    Halt,
    Ledger,
    Policy,
    RecordFailure,
    Requeue,
    Retry,
)


def ledger(**limits) -> Ledger:
    return Ledger(Policy(engine="mock", **limits))


def _die(book: Ledger, unit: str | None = "u", *, worker: int = 0, ready: bool = True,
         timed_out: bool = False, stopping: bool = False) -> Death:
    return book.died(worker, unit, was_ready=ready, timed_out=timed_out, how="killed by SIGKILL",
                     stopping=stopping, log_path="logs/worker-0.log")


# -- engine errors: retried while tries are left --------------------------------------------

@pytest.mark.parametrize("retries", [0, 1, 2, 5])
def test_a_retryable_error_is_retried_exactly_max_engine_retries_times(retries):
    book = ledger(max_engine_retries=retries)
    decisions = []
    for _ in range(retries + 1):
        book.sent("u")
        decisions.append(book.engine_failed("u", "503", "http", retryable=True))
    assert decisions[:-1] == [Retry(attempt=n) for n in range(1, retries + 1)]
    assert decisions[-1] == RecordFailure("503", "http")


def test_an_error_that_is_not_retryable_fails_at_once():
    book = ledger(max_engine_retries=5)
    book.sent("u")
    assert book.engine_failed("u", "context too long", "context_overflow",
                              retryable=False) == RecordFailure("context too long",
                                                                "context_overflow")


def test_tries_are_counted_per_unit():
    book = ledger(max_engine_retries=1)
    book.sent("a")
    book.sent("b")
    assert book.engine_failed("a", "x", "engine", retryable=True) == Retry(1)
    assert book.engine_failed("b", "x", "engine", retryable=True) == Retry(1)
    book.sent("a")
    assert book.engine_failed("a", "x", "engine", retryable=True) == RecordFailure("x", "engine")
    assert book.attempts("a") == 2 and book.attempts("b") == 1


def test_a_send_that_never_started_is_not_a_try():
    book = ledger(max_engine_retries=1)
    book.sent("u")
    book.sent("u")
    book.unsent("u")
    assert book.attempts("u") == 1
    assert book.engine_failed("u", "x", "engine", retryable=True) == Retry(1)


# -- failures in a row halt the run ----------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 3, 10])
def test_the_run_halts_at_the_limit_of_failures_in_a_row(limit):
    book = ledger(max_consecutive_failures=limit)
    halts = [book.failure_recorded(f"e{n}") for n in range(limit)]
    assert halts[:-1] == [None] * (limit - 1)
    assert isinstance(halts[-1], Halt)
    assert f"stopped after {limit} units in a row failed (last: e{limit - 1})" in \
        halts[-1].message
    assert "mock engine looks broken" in halts[-1].message and "resume" in halts[-1].message


def test_an_answered_unit_breaks_the_streak():
    book = ledger(max_consecutive_failures=3)
    assert book.failure_recorded("e") is None
    assert book.failure_recorded("e") is None
    book.completed(worker=0)
    assert book.failure_recorded("e") is None
    assert book.failure_recorded("e") is None
    assert isinstance(book.failure_recorded("e"), Halt)


def test_zero_means_never_halt():
    book = ledger(max_consecutive_failures=0)
    assert all(book.failure_recorded("e") is None for _ in range(1000))


# -- deaths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_a_unit_fails_as_crash_after_max_crashes_per_unit_deaths(limit):
    book = ledger(max_crashes_per_unit=limit)
    units = [_die(book).unit for _ in range(limit)]
    assert units[:-1] == [Requeue()] * (limit - 1)
    assert units[-1] == RecordFailure(
        f"worker died {limit} times while running this unit (last: killed by SIGKILL)", "crash")


def test_a_unit_killed_for_its_timeout_fails_as_timeout():
    book = ledger(max_crashes_per_unit=2, unit_timeout_s=1.5)
    assert _die(book, timed_out=True).unit == Requeue()
    assert _die(book, timed_out=True).unit == RecordFailure(
        "timed out after 1.5 s (2 tries; run.unit_timeout_s)", "timeout")


def test_crashes_are_counted_per_unit_not_per_worker():
    book = ledger(max_crashes_per_unit=2)
    assert _die(book, "a").unit == Requeue()
    assert _die(book, "b", worker=1).unit == Requeue()
    assert _die(book, "a", worker=1).unit == RecordFailure(
        "worker died 2 times while running this unit (last: killed by SIGKILL)", "crash")


def test_an_idle_worker_dying_touches_no_unit():
    book = ledger()
    death = _die(book, None)
    assert death.unit is None and death.halt is None
    assert death.restart_after_s == RESTART_BACKOFF_S[0]


def test_restart_backoff_grows_with_the_workers_crash_streak_and_caps():
    book = ledger(max_crashes_per_unit=1000)
    delays = [_die(book, f"u{n}").restart_after_s for n in range(len(RESTART_BACKOFF_S) + 3)]
    assert delays == list(RESTART_BACKOFF_S) + [RESTART_BACKOFF_S[-1]] * 3


def test_an_answered_unit_resets_the_backoff_of_that_worker_only():
    book = ledger(max_crashes_per_unit=1000)
    for n in range(3):
        _die(book, f"a{n}", worker=0)
        _die(book, f"b{n}", worker=1)
    book.completed(worker=0)
    assert _die(book, "a", worker=0).restart_after_s == RESTART_BACKOFF_S[0]
    assert _die(book, "b", worker=1).restart_after_s == RESTART_BACKOFF_S[3]


def test_no_restart_while_the_run_is_stopping_and_the_streak_does_not_grow():
    book = ledger(max_crashes_per_unit=3)
    death = _die(book, stopping=True)
    assert death == Death(unit=Requeue(), restart_after_s=None)
    assert _die(book, None).restart_after_s == RESTART_BACKOFF_S[0]


# -- deaths while starting -------------------------------------------------------------------

def test_the_engine_cannot_start_after_max_boot_failures_deaths_in_a_row():
    book = ledger()
    deaths = [_die(book, None, ready=False) for _ in range(MAX_BOOT_FAILURES)]
    assert all(d.halt is None for d in deaths[:-1])
    assert deaths[-1].halt == Halt(
        f"the mock engine worker died {MAX_BOOT_FAILURES} times while starting "
        "(killed by SIGKILL); see logs/worker-0.log")


def test_ready_forgets_the_start_up_failures():
    book = ledger()
    for _ in range(MAX_BOOT_FAILURES - 1):
        assert _die(book, None, ready=False).halt is None
    book.ready(worker=0)
    for _ in range(MAX_BOOT_FAILURES - 1):
        assert _die(book, None, ready=False).halt is None


def test_start_up_failures_are_counted_per_worker():
    book = ledger()
    for _ in range(MAX_BOOT_FAILURES - 1):
        assert _die(book, None, worker=0, ready=False).halt is None
        assert _die(book, None, worker=1, ready=False).halt is None


def test_a_timeout_kill_before_ready_is_not_a_start_up_failure():
    book = ledger()
    for _ in range(MAX_BOOT_FAILURES + 2):
        assert _die(book, None, ready=False, timed_out=True).halt is None


def test_a_worker_that_dies_after_ready_is_not_a_start_up_failure():
    book = ledger(max_crashes_per_unit=1000)
    for n in range(MAX_BOOT_FAILURES + 2):
        assert _die(book, f"u{n}", ready=True).halt is None
