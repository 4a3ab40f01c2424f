"""Where mini-batches run: the executor seam, and the default local executor (worker processes, no extra deps).

An executor runs one attempt of one mini-batch and answers an :class:`Outcome`; retries, error accounting,
ordering and cancellation belong to the engine (engine.py), so every executor behaves the same.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

from mlops_engine.batch.handle import WorkerHandle
from mlops_engine.batch.plan import MiniBatch
from mlops_engine.batch.protocol import WorkerConfig
from mlops_engine.batch.records import Outcome


class Executor(Protocol):
    """Runs attempts of mini-batches; futures always resolve to an Outcome (never raise)."""

    @property
    def capacity(self) -> int: ...

    def prestart(self) -> None: ...

    def submit(self, batch: MiniBatch, attempt: int) -> Future[Outcome]: ...

    def worker_pids(self) -> list[int]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """``node_count x process_count_per_node`` worker processes on this machine, each fed by one thread."""

    def __init__(
        self,
        config: WorkerConfig,
        processes: int,
        processes_per_node: int,
        timeout: float,
        python: str | None = None,
    ) -> None:
        self._cancelled = threading.Event()
        self._timeout = timeout
        self._handles: list[WorkerHandle] = []
        self._free: queue.SimpleQueue[WorkerHandle] = queue.SimpleQueue()
        for slot in range(processes):
            node, agent = divmod(slot, processes_per_node)
            slot_config = replace(config, node_id=str(node), agent_name=f"process{agent:03d}")
            handle = WorkerHandle(slot_config, python=python, cancelled=self._cancelled.is_set)
            self._handles.append(handle)
            self._free.put(handle)
        self._pool = ThreadPoolExecutor(max_workers=processes, thread_name_prefix="batch-worker")

    @property
    def capacity(self) -> int:
        return len(self._handles)

    def _run(self, batch: MiniBatch, attempt: int) -> Outcome:
        handle = self._free.get()
        try:
            if self._cancelled.is_set():
                return Outcome(batch.index, "cancelled", batch.items, worker=handle.name)
            return handle.run(batch, attempt, self._timeout)
        except Exception as exc:  # noqa: BLE001 - an engine bug must not hang the job: report it as a crash
            handle.kill()
            return Outcome(
                batch.index, "crash", batch.items, error=f"engine error: {exc!r}", worker=handle.name
            )
        finally:
            self._free.put(handle)

    def prestart(self) -> None:
        """Start every worker process now, so their start-up overlaps the engine's planning."""
        for handle in self._handles:
            handle.prestart()

    def submit(self, batch: MiniBatch, attempt: int) -> Future[Outcome]:
        return self._pool.submit(self._run, batch, attempt)

    def worker_pids(self) -> list[int]:
        return [pid for h in self._handles if (pid := h.pid) is not None]

    def cancel(self) -> None:
        """Each busy thread kills its own worker within 50 ms (the handle polls this flag); idle ones at close()."""
        self._cancelled.set()

    def close(self) -> None:
        if not self._cancelled.is_set():
            for handle in self._handles:
                handle.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for handle in self._handles:
            handle.kill()
