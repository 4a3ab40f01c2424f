"""The scheduling loop of a parallel job: feed the executor, retry, count failures, write in order, report.

Azure ML's rules as enforced here: an attempt fails if run() raises, times out (``run_invocation_timeout``) or
its process dies; a mini-batch is tried at most ``run_max_try`` times; the items of a mini-batch that finally
fails, and the items a successful run() did not return an element for, are failures; the job is aborted as soon
as failures exceed ``error_threshold`` (records or files; -1 = never), ``allowed_failed_count`` or
``allowed_failed_percent`` (mini-batches).  A worker whose ``init()`` fails is replaced without using up an
attempt of the mini-batch; ``2 x node_count x process_count_per_node`` init failures fail the job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from mlops_engine.batch.executors import Executor
from mlops_engine.batch.output import JobLogs, OrderedOutput
from mlops_engine.batch.plan import BatchPlan, MiniBatch
from mlops_engine.batch.records import JobState, Outcome, Progress
from mlops_engine.batch.settings import ParallelRunSettings

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5


@dataclass
class Tally:
    """Mutable counters of one run of the loop (seeded from a checkpoint when resuming)."""

    items_done: int = 0
    items_failed: int = 0
    batches_done: int = 0
    batches_failed: int = 0
    failed_batches: list[int] = field(default_factory=list)
    init_failures: int = 0
    first_error: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Prefix:
    """Counters of the mini-batches before ``next_index``: what a checkpoint may claim as durably done."""

    next_index: int = 0
    items_done: int = 0
    items_failed: int = 0
    batches_failed: int = 0
    failed_batches: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class EngineEnd:
    state: JobState
    message: str


class Engine:
    def __init__(
        self,
        plan: BatchPlan,
        settings: ParallelRunSettings,
        executor: Executor,
        output: OrderedOutput,
        logs: JobLogs,
        cancel: threading.Event,
        resumed: Prefix | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.executor = executor
        self.output = output
        self.logs = logs
        self.cancel = cancel
        self.tally = Tally()
        if resumed is not None:
            self.tally = Tally(
                items_done=resumed.items_done,
                items_failed=resumed.items_failed,
                batches_done=resumed.next_index,
                batches_failed=resumed.batches_failed,
                failed_batches=list(resumed.failed_batches),
            )
        self.on_progress = on_progress
        self.on_checkpoint = on_checkpoint
        self.state = JobState.NOT_STARTED
        self.started = time.monotonic()
        self._items_at_start = self.tally.items_done
        self._last_progress = 0.0
        self._attempts: dict[int, int] = {}
        self._final: dict[
            int, tuple[int, int, bool]
        ] = {}  # index -> (done, failed, batch failed) until in prefix
        self.prefix = resumed or Prefix(next_index=self.output.next_index)

    # -- accounting ------------------------------------------------------------------------------------------

    def _over_threshold(self) -> str:
        s, t = self.settings, self.tally
        if s.error_threshold != -1 and t.items_failed > s.error_threshold:
            unit = "files" if self.plan.kind == "files" else "rows"
            return f"{t.items_failed} failed {unit} exceed error_threshold={s.error_threshold}"
        if s.allowed_failed_count not in (None, -1) and t.batches_failed > s.allowed_failed_count:
            return (
                f"{t.batches_failed} failed mini-batches exceed allowed_failed_count={s.allowed_failed_count}"
            )
        total = len(self.plan.batches)
        if (
            s.allowed_failed_percent is not None
            and total
            and t.batches_failed * 100.0 / total > s.allowed_failed_percent
        ):
            return (
                f"{t.batches_failed} of {total} mini-batches failed, more than "
                f"allowed_failed_percent={s.allowed_failed_percent:g}"
            )
        return ""

    def _record_failure(self, batch: MiniBatch, outcome: Outcome, attempt: int) -> None:
        summary = f"{batch.describe()} attempt {attempt}/{self.settings.run_max_try}: {outcome.status}"
        last = outcome.error.strip().splitlines()[-1] if outcome.error.strip() else outcome.status
        self.logs.error(outcome.worker, f"{summary}: {last}", outcome.error)
        if not self.tally.first_error:
            self.tally.first_error = f"{summary} on worker {outcome.worker}\n{outcome.error.rstrip()}"

    def _finish_ok(self, batch: MiniBatch, outcome: Outcome) -> None:
        t = self.tally
        items = outcome.items
        if batch.kind == "tabular" and items != batch.items:
            log.debug("%s: planned %d rows, parsed %d", batch.describe(), batch.items, items)
        shortfall = max(0, items - outcome.returned)
        if outcome.returned > items:  # accepted, as Azure ML does, but said
            warning = (
                f"warning: {batch.describe()}: run() returned {outcome.returned} elements for {items} items"
            )
            t.warnings.append(warning)
            self.logs.progress(warning)
        t.items_done += items - shortfall
        t.items_failed += shortfall
        t.batches_done += 1
        self._final[batch.index] = (items - shortfall, shortfall, False)
        self.output.put(batch.index, outcome.payload, outcome.header)

    def _finish_failed(self, batch: MiniBatch, outcome: Outcome) -> None:
        t = self.tally
        t.items_failed += max(batch.items, outcome.items)
        t.batches_failed += 1
        t.batches_done += 1
        t.failed_batches.append(batch.index)
        self._final[batch.index] = (0, max(batch.items, outcome.items), True)
        self.output.skip(batch.index)

    def _advance_prefix(self) -> None:
        p = self.prefix
        while p.next_index < self.output.next_index:
            done, failed, batch_failed = self._final.pop(p.next_index)
            p.items_done += done
            p.items_failed += failed
            if batch_failed:
                p.batches_failed += 1
                p.failed_batches.append(p.next_index)
            p.next_index += 1

    # -- loop ------------------------------------------------------------------------------------------------

    def progress(self) -> Progress:
        t = self.tally
        elapsed = time.monotonic() - self.started
        rate = (t.items_done - self._items_at_start) / elapsed if elapsed > 0 else 0.0
        return Progress(
            self.state,
            t.batches_done,
            len(self.plan.batches),
            t.batches_failed,
            t.items_done,
            t.items_failed,
            self.plan.total_items,
            elapsed,
            rate,
        )

    def _tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        snapshot = self.progress()
        self.logs.progress(snapshot.line())
        if self.on_checkpoint is not None:
            self.output.sync()
            self._advance_prefix()
            self.on_checkpoint()
        if self.on_progress is not None:
            self.on_progress(snapshot)

    def run(self, first_batch: int = 0) -> EngineEnd:
        batches = self.plan.batches
        total = len(batches)
        max_try = self.settings.run_max_try
        init_limit = max(2, 2 * self.settings.total_processes())
        window = max(8, 4 * self.executor.capacity)  # bounds what waits in memory for an earlier mini-batch
        depth = 2 * self.executor.capacity  # one queued behind each running attempt: no idle gap between them
        next_new = first_batch
        retries: deque[MiniBatch] = deque()
        inflight: dict[Future[Outcome], tuple[MiniBatch, int]] = {}
        self.state = JobState.IN_PROGRESS
        self._tick(force=True)
        while True:
            if self.cancel.is_set():
                return self._stop(inflight, JobState.CANCELLED, "cancelled by request")
            while len(inflight) < depth:
                if retries:
                    batch = retries.popleft()
                elif next_new < total and next_new - self.output.next_index < window:
                    batch = batches[next_new]
                    next_new += 1
                else:
                    break
                attempt = self._attempts.get(batch.index, 0) + 1
                inflight[self.executor.submit(batch, attempt)] = (batch, attempt)
            if not inflight:
                break
            done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                batch, attempt = inflight.pop(future)
                outcome = future.result()
                line = f"{batch.describe()} attempt {attempt}: {outcome.status} in {outcome.seconds:.3f}s"
                self.logs.attempt(outcome.worker, line)
                if self.cancel.is_set() or outcome.status == "cancelled":
                    continue
                if outcome.status == "ok":
                    self._finish_ok(batch, outcome)
                elif outcome.status == "init_failed":
                    self.tally.init_failures += 1
                    self._record_failure(batch, outcome, attempt)
                    if self.tally.init_failures >= init_limit:
                        message = f"init() of the entry script failed {self.tally.init_failures} times"
                        return self._stop(inflight, JobState.FAILED, message)
                    retries.appendleft(batch)
                else:
                    self._attempts[batch.index] = attempt
                    self._record_failure(batch, outcome, attempt)
                    if attempt < max_try:
                        retries.append(batch)
                    else:
                        self._finish_failed(batch, outcome)
                reason = self._over_threshold()
                if reason:
                    return self._stop(inflight, JobState.FAILED, f"job aborted: {reason}")
            self._tick()
        self.state = JobState.SUCCEEDED
        self._tick(force=True)
        failed = self.tally.batches_failed
        message = "all mini-batches processed" + (
            f" ({failed} failed, within the thresholds)" if failed else ""
        )
        return EngineEnd(JobState.SUCCEEDED, message)

    def _stop(
        self, inflight: dict[Future[Outcome], tuple[MiniBatch, int]], state: JobState, message: str
    ) -> EngineEnd:
        self.executor.cancel()
        self.state = state
        wait(list(inflight), timeout=30)
        self._tick(force=True)
        return EngineEnd(state, message)
