"""A service's replica slots: the process in each position and its restart history, with the backoff policy.

Why this shape: a service of N replicas has N slots; a slot outlives the processes that fill it, so a
crash loop in one position backs off (first restart at once, then 0.25 s doubling to 5 s) while the
other positions keep serving, and a replica that served STABLE_AFTER_S seconds earns a fresh start.
The slot is plain data guarded by the service's state lock; the supervisor decides when to act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .process import ReplicaProcess

FIRST_BACKOFF_S: Final = 0.25
MAX_BACKOFF_S: Final = 5.0
STABLE_AFTER_S: Final = 10.0  # a replica serving this long resets its slot's backoff


@dataclass(eq=False)
class Slot:
    """One replica position of a service."""

    index: int
    replica: ReplicaProcess | None  # None between a crash and the restart that fills it again
    restarts: int = 0
    backoff: float = 0.0  # wait before the next restart attempt; 0 = at once
    next_attempt: float = 0.0  # monotonic time from which a restart may start
    restarting: bool = False  # a restart thread owns this slot

    def vacate(self, now: float) -> None:
        """The replica exited: schedule the restart after the current backoff, and grow it."""
        self.replica = None
        self._schedule(now)

    def restart_failed(self, now: float) -> None:
        """A restart attempt did not reach serving: it counts, and the next one waits longer."""
        self.restarts += 1
        self._schedule(now)

    def restarted(self, replica: ReplicaProcess) -> None:
        """A restart reached serving: the replica fills the slot and carries the slot's restart count."""
        self.restarts += 1
        replica.restarts = self.restarts
        self.replica = replica

    def settle(self, now: float) -> None:
        """Forget the backoff of a replica that has been serving for STABLE_AFTER_S."""
        r = self.replica
        if r is not None and self.backoff and now - r.serving_since > STABLE_AFTER_S:
            self.backoff = 0.0

    def restart_due(self, now: float) -> bool:
        return self.replica is None and not self.restarting and now >= self.next_attempt

    def _schedule(self, now: float) -> None:
        self.next_attempt = now + self.backoff
        self.backoff = min(max(self.backoff * 2, FIRST_BACKOFF_S), MAX_BACKOFF_S)


def fresh_slots(replicas: list[ReplicaProcess]) -> list[Slot]:
    """The slots of a new generation: one per replica, no restart history."""
    return [Slot(index, r) for index, r in enumerate(replicas)]


__all__ = ["FIRST_BACKOFF_S", "MAX_BACKOFF_S", "STABLE_AFTER_S", "Slot", "fresh_slots"]
