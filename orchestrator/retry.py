"""Every use of tenacity: named retry policies and `poll_until` (conventions 8, 9 and 10).

Sleep and clock are parameters everywhere so tests run in milliseconds and assert the wait schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
    wait_fixed,
)

from orchestrator.azerrors import SAFE_TO_RESEND, TRANSIENT
from orchestrator.errors import CommandFailed, ProvisioningFailed, ProvisioningTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]


class stop_after_delay_on(stop_after_delay):
    """`stop_after_delay` measured with an injected clock (tenacity always reads time.monotonic)."""

    def __init__(self, max_delay: float, clock: Clock) -> None:
        super().__init__(max_delay)
        self._clock = clock
        self._start = clock()

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock() - self._start >= self.max_delay


def is_transient(exc: BaseException) -> bool:
    """A failed read-only az call worth repeating (throttling, connection, timeout, 5xx)."""
    return isinstance(exc, CommandFailed) and exc.category in TRANSIENT


def is_safe_to_resend(exc: BaseException) -> bool:
    """A failed mutating az call that certainly did not reach the service (throttled, no connection)."""
    return isinstance(exc, CommandFailed) and exc.category in SAFE_TO_RESEND


@dataclass(frozen=True)
class Policy:
    """A named retry policy; `retrying()` builds the tenacity controller with injected time."""

    name: str
    predicate: Callable[[BaseException], bool]
    attempts: int
    deadline_s: float
    initial_s: float
    max_wait_s: float
    jitter_s: float

    def retrying(
        self, *, sleep: Sleep = time.sleep, clock: Clock = time.monotonic, jitter: bool = True
    ) -> Retrying:
        return Retrying(
            retry=retry_if_exception(self.predicate),
            wait=wait_exponential_jitter(
                multiplier=self.initial_s, max=self.max_wait_s, jitter=self.jitter_s if jitter else 0
            ),
            stop=stop_after_attempt(self.attempts) | stop_after_delay_on(self.deadline_s, clock),
            before_sleep=before_sleep_log(log, logging.WARNING),
            sleep=sleep,
            reraise=True,
        )

    def call(
        self,
        fn: Callable[[], T],
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        jitter: bool = True,
    ) -> T:
        """Run fn under this policy; the last real error is re-raised when it gives up."""
        return self.retrying(sleep=sleep, clock=clock, jitter=jitter)(fn)


TRANSIENT_AZ: Final = Policy(
    "TRANSIENT_AZ", is_transient, attempts=5, deadline_s=300.0, initial_s=2.0, max_wait_s=30.0, jitter_s=1.0
)
"""Read-only az calls: retry throttling, connection errors, timeouts and 5xx; 5 attempts or 5 minutes."""

TRANSIENT_AZ_WRITE: Final = Policy(
    "TRANSIENT_AZ_WRITE",
    is_safe_to_resend,
    attempts=4,
    deadline_s=300.0,
    initial_s=2.0,
    max_wait_s=30.0,
    jitter_s=1.0,
)
"""Mutating az calls: retry only when the request cannot have been processed (throttled, no connection)."""


def poll_until(
    read_state: Callable[[], T],
    *,
    what: str,
    state_of: Callable[[T], str],
    done: Collection[str],
    failed: Collection[str],
    timeout: float,
    interval: float,
    errors_of: Callable[[T], tuple[str, ...]] = lambda _s: (),
    on_poll: Callable[[T], None] = lambda _s: None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> T:
    """Call read_state every `interval` seconds until its state is in done (return it) or failed.

    A failed state raises `ProvisioningFailed` at once; reaching `timeout` raises `ProvisioningTimeout`
    with the last state seen.
    """
    terminal = set(done) | set(failed)
    last: list[T] = []

    def observe() -> T:
        value = read_state()
        last[:] = [value]
        on_poll(value)
        return value

    def give_up(retry_state: RetryCallState) -> T:
        raise ProvisioningTimeout(what, state_of(last[0]) if last else None, timeout)

    retrying = Retrying(
        retry=retry_if_result(lambda value: state_of(value) not in terminal),
        stop=stop_after_delay_on(timeout, clock),
        wait=wait_fixed(interval),
        sleep=sleep,
        before_sleep=before_sleep_log(log, logging.DEBUG),
        retry_error_callback=give_up,
    )
    value = retrying(observe)
    if state_of(value) in failed:
        raise ProvisioningFailed(what, state_of(value), errors_of(value))
    return value
