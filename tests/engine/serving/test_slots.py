"""Replica slots (serving/slots.py): the restart backoff policy, with time passed in (no sleeping)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlops_engine.serving.process import ReplicaProcess
from mlops_engine.serving.slots import FIRST_BACKOFF_S, MAX_BACKOFF_S, STABLE_AFTER_S, Slot, fresh_slots


class _DoneProc:
    """Stands in for the Popen of a replica: the slot never looks at the process itself."""

    pid = 4242


def _replica(serving_since: float = 0.0) -> ReplicaProcess:
    proc: subprocess.Popen[bytes] = _DoneProc()  # type: ignore[assignment]
    r = ReplicaProcess("img", proc, -1, Path("replica-0.log"), 0)
    r.serving_since = serving_since
    return r


def test_fresh_slots_number_the_replicas_without_history():
    a, b = _replica(), _replica()
    slots = fresh_slots([a, b])
    assert [(s.index, s.replica, s.restarts, s.backoff) for s in slots] == [(0, a, 0, 0.0), (1, b, 0, 0.0)]


def test_first_restart_is_immediate_then_backoff_doubles_to_the_cap():
    slot = Slot(0, _replica())
    now = 100.0
    waits = []
    for _ in range(8):
        slot.vacate(now)
        waits.append(slot.next_attempt - now)
        assert slot.replica is None
    assert waits == [0.0, FIRST_BACKOFF_S, 0.5, 1.0, 2.0, 4.0, MAX_BACKOFF_S, MAX_BACKOFF_S]


def test_restart_due_only_when_empty_not_owned_and_time_has_come():
    slot = Slot(0, _replica())
    assert not slot.restart_due(0.0)  # a replica is in it
    slot.vacate(10.0)  # first crash: at once
    assert slot.restart_due(10.0)
    slot.restarting = True
    assert not slot.restart_due(10.0)  # a restart thread owns it
    slot.restarting = False
    slot.restart_failed(10.0)  # waits FIRST_BACKOFF_S now
    assert not slot.restart_due(10.0 + FIRST_BACKOFF_S / 2)
    assert slot.restart_due(10.0 + FIRST_BACKOFF_S)


def test_every_attempt_counts_and_the_replica_carries_the_count():
    slot = Slot(0, _replica())
    slot.vacate(0.0)
    slot.restart_failed(0.0)
    replacement = _replica()
    slot.restarted(replacement)
    assert slot.restarts == 2 and replacement.restarts == 2 and slot.replica is replacement


def test_backoff_is_forgotten_after_serving_long_enough():
    slot = Slot(0, _replica())
    slot.vacate(0.0)
    slot.vacate(0.0)
    assert slot.backoff == 0.5
    slot.restarted(_replica(serving_since=100.0))
    slot.settle(100.0 + STABLE_AFTER_S / 2)
    assert slot.backoff == 0.5  # not stable yet
    slot.settle(100.0 + STABLE_AFTER_S + 0.01)
    assert slot.backoff == 0.0
    slot.vacate(200.0)
    assert slot.next_attempt == 200.0  # the next crash is restarted at once again
