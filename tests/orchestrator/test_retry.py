"""Retry policies and poll_until, with injected sleep and clock (no real waiting)."""

from __future__ import annotations

import pytest

from orchestrator.errors import CommandFailed, ProvisioningFailed, ProvisioningTimeout
from orchestrator.retry import TRANSIENT_AZ, TRANSIENT_AZ_WRITE, poll_until
from orchestrator.runner import CommandResult


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


def failed(category):
    return CommandFailed(CommandResult(("az", "ml", "model", "list"), 1, "", "ERROR: x", 0.1), "x", category)


def flaky(errors, value="ok"):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return value

    return fn, calls


def test_transient_errors_are_retried_with_exponential_backoff():
    t = FakeTime()
    fn, calls = flaky([failed("timeout"), failed("server"), failed("throttled")])
    assert TRANSIENT_AZ.call(fn, sleep=t.sleep, clock=t.clock, jitter=False) == "ok"
    assert t.sleeps == [2.0, 4.0, 8.0] and len(calls) == 4


def test_jitter_stays_within_one_second():
    t = FakeTime()
    fn, _ = flaky([failed("connection")] * 3)
    TRANSIENT_AZ.call(fn, sleep=t.sleep, clock=t.clock)
    for expected, got in zip([2.0, 4.0, 8.0], t.sleeps):
        assert expected <= got <= expected + 1.0


@pytest.mark.parametrize(
    "category", ["validation", "auth", "not_found", "conflict", "operation_failed", "error"]
)
def test_permanent_errors_are_raised_at_once(category):
    t = FakeTime()
    fn, calls = flaky([failed(category)])
    with pytest.raises(CommandFailed) as info:
        TRANSIENT_AZ.call(fn, sleep=t.sleep, clock=t.clock)
    assert info.value.category == category and len(calls) == 1 and t.sleeps == []


def test_gives_up_after_attempts_and_reraises_the_real_error():
    t = FakeTime()
    fn, calls = flaky([failed("timeout")] * 10)
    with pytest.raises(CommandFailed):
        TRANSIENT_AZ.call(fn, sleep=t.sleep, clock=t.clock, jitter=False)
    assert len(calls) == TRANSIENT_AZ.attempts == 5
    assert t.sleeps == [2.0, 4.0, 8.0, 16.0]


def test_gives_up_at_the_deadline():
    t = FakeTime()
    calls = []

    def slow():
        calls.append(1)
        t.now += 200  # each attempt takes 200 s of (fake) time
        raise failed("timeout")

    with pytest.raises(CommandFailed):
        TRANSIENT_AZ.call(slow, sleep=t.sleep, clock=t.clock, jitter=False)
    assert len(calls) == 2  # 200 s, then 402 s > 300 s deadline


def test_writes_are_resent_only_when_the_request_never_arrived():
    t = FakeTime()
    fn, calls = flaky([failed("connection"), failed("throttled")])
    assert TRANSIENT_AZ_WRITE.call(fn, sleep=t.sleep, clock=t.clock, jitter=False) == "ok"
    fn, calls = flaky([failed("timeout")])
    with pytest.raises(CommandFailed):
        TRANSIENT_AZ_WRITE.call(fn, sleep=t.sleep, clock=t.clock)
    assert len(calls) == 1


def states(*values):
    it = iter(values)
    return lambda: next(it)


def test_poll_until_done_schedule():
    t = FakeTime()
    seen = []
    result = poll_until(
        states("Creating", "Creating", "Succeeded"),
        what="environment e",
        state_of=str,
        done={"Succeeded"},
        failed={"Failed"},
        timeout=600,
        interval=30,
        on_poll=seen.append,
        sleep=t.sleep,
        clock=t.clock,
    )
    assert result == "Succeeded" and t.sleeps == [30, 30] and seen == ["Creating", "Creating", "Succeeded"]


def test_poll_until_failed_raises_at_once_with_errors():
    t = FakeTime()
    with pytest.raises(ProvisioningFailed) as info:
        poll_until(
            states("Creating", "Failed"),
            what="environment e",
            state_of=str,
            done={"Succeeded"},
            failed={"Failed"},
            errors_of=lambda s: ("QuotaExceeded: Resource quota limit exceeded.",),
            timeout=600,
            interval=30,
            sleep=t.sleep,
            clock=t.clock,
        )
    assert info.value.state == "Failed" and info.value.errors == (
        "QuotaExceeded: Resource quota limit exceeded.",
    )
    assert t.sleeps == [30]


def test_poll_until_timeout_reports_last_state():
    t = FakeTime()
    with pytest.raises(ProvisioningTimeout) as info:
        poll_until(
            lambda: "Updating",
            what="environment e",
            state_of=str,
            done={"Succeeded"},
            failed={"Failed"},
            timeout=100,
            interval=30,
            sleep=t.sleep,
            clock=t.clock,
        )
    assert info.value.last_state == "Updating"
    assert t.sleeps == [30, 30, 30, 30]  # reads at 0, 30, 60, 90, 120 -> deadline passed
    assert "last state seen: Updating" in str(info.value)
