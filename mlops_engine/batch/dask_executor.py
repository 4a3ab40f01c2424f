"""The Dask executor: mini-batches as tasks on a ``distributed`` cluster given by its scheduler address.

Optional: needs ``pip install mlops[dask]``.  Each attempt is its own task (``pure=False`` and a unique key, so
Dask never merges or caches attempts); Dask's own retries stay off because the engine counts attempts.  A task
lost with a worker that died is resubmitted by Dask's scheduler; a task that keeps killing workers ends as
``KilledWorker``, reported as a crash of that mini-batch.  Inputs and the entry script must be at the same path
on every worker (a shared filesystem, as Azure ML mounts datasets on each node).
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future
from typing import Any

from mlops_engine.batch import dask_task
from mlops_engine.batch.errors import BatchConfigError
from mlops_engine.batch.plan import MiniBatch
from mlops_engine.batch.protocol import WorkerConfig
from mlops_engine.batch.records import Outcome


def _client(address: str, timeout: float) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise BatchConfigError(
            "the Dask executor needs the dask extra: pip install 'mlops[dask]' (or dask[distributed])"
        ) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except OSError as exc:
        raise BatchConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


class DaskExecutor:
    def __init__(
        self,
        address: str,
        config: WorkerConfig,
        timeout: float,
        python: str | None = None,
        connect_timeout: float = 10,
    ) -> None:
        self._client = _client(address, connect_timeout)
        self._config = config
        self._timeout = timeout
        self._python = python
        self._job_key = f"{uuid.uuid4().hex}"
        self._futures: dict[Any, Future[Outcome]] = {}
        workers = self._client.scheduler_info().get("workers", {})
        self._capacity = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def client(self) -> Any:
        return self._client

    def prestart(self) -> None:
        """Nothing to do: Dask workers start their worker process on their first task."""

    def submit(self, batch: MiniBatch, attempt: int) -> Future[Outcome]:
        done: Future[Outcome] = Future()
        key = f"mlops-batch-{self._job_key}-{batch.index}-{attempt}"
        dask_future = self._client.submit(
            dask_task.run_batch,
            self._job_key,
            self._config,
            batch,
            attempt,
            self._timeout,
            self._python,
            key=key,
            pure=False,
            retries=0,
        )

        def _resolve(fut: Any) -> None:
            self._futures.pop(fut, None)
            try:
                done.set_result(fut.result())
            except BaseException as exc:  # noqa: BLE001 - KilledWorker, CancelledError, lost connection...
                name = type(exc).__name__
                message = f"{batch.describe()}: lost on the Dask cluster ({name}: {exc})"
                if name == "KilledWorker":
                    message = (
                        f"{batch.describe()}: the worker process running it died (Dask KilledWorker: {exc})"
                    )
                done.set_result(Outcome(batch.index, "crash", batch.items, error=message, worker="dask"))

        self._futures[dask_future] = done
        dask_future.add_done_callback(_resolve)
        return done

    def worker_pids(self) -> list[int]:
        pids: dict[str, list[int]] = self._client.run(dask_task.worker_pids, self._job_key)
        return [pid for values in pids.values() for pid in values]

    def dask_worker_pids(self) -> dict[str, int]:
        import os

        result: dict[str, int] = self._client.run(os.getpid)
        return result

    def cancel(self) -> None:
        futures = list(self._futures)
        if futures:
            self._client.cancel(futures, force=True)
        self._client.run(dask_task.end_job, self._job_key, True)

    def close(self) -> None:
        try:
            self._client.run(dask_task.end_job, self._job_key, False)
        finally:
            self._client.close()
