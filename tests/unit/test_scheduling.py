"""Scheduling policy: groups stay on their worker; requeued units come back first."""

from __future__ import annotations

from engines.base import effective_workers
from evalcli.run.plan import Unit
from evalcli.run.scheduling import Scheduler


def _units(trial: str, condition: str, n: int) -> list[Unit]:
    return [Unit(f"{trial}|{condition}|{i}", trial, i, condition, 0) for i in range(n)]


def test_each_worker_keeps_its_group_then_takes_an_unstarted_one():
    units = _units("t", "control", 3) + _units("t", "treatment", 3) + _units("u", "control", 3)
    s = Scheduler(units)
    assert s.next_for(0).condition == "control" and s.next_for(1).condition == "treatment"
    assert [s.next_for(0).custom_id for _ in range(2)] == ["t|control|1", "t|control|2"]
    assert s.next_for(0).trial == "u"  # an unstarted group, not worker 1's
    assert s.next_for(1).condition == "treatment"


def test_idle_worker_joins_the_largest_running_group_when_none_is_left():
    s = Scheduler(_units("t", "control", 5))
    assert s.next_for(0) is not None
    assert s.next_for(1).custom_id == "t|control|1"
    taken = [s.next_for(i % 2) for i in range(3)]
    assert all(taken) and s.next_for(0) is None and s.remaining == 0


def test_requeued_unit_runs_next():
    units = _units("t", "control", 3)
    s = Scheduler(units)
    first = s.next_for(0)
    s.requeue(first)
    assert s.remaining == 3
    assert s.next_for(0) == first


def test_effective_workers():
    assert effective_workers(4, None, 100) == 4
    assert effective_workers(4, 1, 100) == 1
    assert effective_workers(4, None, 2) == 2
    assert effective_workers(1, None, 0) == 1


def _model_units(variant: int, trial: str, condition: str, n: int) -> list[Unit]:
    return [Unit(f"{trial}|{condition}|{i}", trial, i, condition, 0, variant)
            for i in range(n)]


def test_a_worker_keeps_its_model_while_that_model_has_work():
    units = (_model_units(0, "a", "control", 2) + _model_units(1, "b", "control", 4)
             + _model_units(0, "a", "treatment", 4))
    s = Scheduler(units)
    assert s.first_variant() == 0
    # both workers hold model 0: they take model 0's groups first, whatever the plan order
    assert s.next_for(0, 0).trial == "a" and s.next_for(1, 0).condition == "treatment"
    s.next_for(0, 0)  # worker 0's group (a/control) is now empty
    # worker 0 steals from model 0's running group rather than load model 1
    assert s.next_for(0, 0).variant == 0
    while (u := s.next_for(1, 0)) is not None and u.variant == 0:
        pass
    assert u.variant == 1  # model 0 has no work left: only now a switch
    assert s.next_for(0, 0).variant == 1
