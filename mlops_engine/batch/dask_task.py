"""The code that runs inside Dask workers: one supervised worker process per concurrent task, kept per job.

Imported by the Dask worker processes (they must have this package installed, like the engine).  A task takes
an idle :class:`WorkerHandle` of its job from this process's pool (or makes one), so ``init()`` runs once per
worker process, not per mini-batch, and ``run_invocation_timeout`` is enforced by the handle as locally.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import replace

from mlops_engine.batch.handle import WorkerHandle
from mlops_engine.batch.plan import MiniBatch
from mlops_engine.batch.protocol import WorkerConfig
from mlops_engine.batch.records import Outcome

_lock = threading.Lock()
_idle: dict[str, list[WorkerHandle]] = {}
_all: dict[str, list[WorkerHandle]] = {}
_counter = itertools.count()


def _node_id() -> str:
    try:
        from distributed import get_worker

        name = str(get_worker().name)
    except (ImportError, ValueError):
        name = "local"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _take(job_key: str, config: WorkerConfig, python: str | None) -> WorkerHandle:
    with _lock:
        idle = _idle.setdefault(job_key, [])
        if idle:
            return idle.pop()
        agent = f"process{next(_counter):03d}"
    handle = WorkerHandle(replace(config, node_id=_node_id(), agent_name=agent), python=python)
    with _lock:
        _all.setdefault(job_key, []).append(handle)
    return handle


def run_batch(
    job_key: str, config: WorkerConfig, batch: MiniBatch, attempt: int, timeout: float, python: str | None
) -> Outcome:
    """One attempt at one mini-batch (the Dask task)."""
    handle = _take(job_key, config, python)
    try:
        return handle.run(batch, attempt, timeout)
    finally:
        with _lock:
            if handle in _all.get(job_key, []):
                _idle.setdefault(job_key, []).append(handle)


def end_job(job_key: str, kill: bool = False) -> int:
    """Stop (or kill) this process's worker processes of a job; run on every Dask worker by the client."""
    with _lock:
        handles = _all.pop(job_key, [])
        _idle.pop(job_key, None)
    for handle in handles:
        if kill:
            handle.kill()
        else:
            handle.stop()
    return len(handles)


def worker_pids(job_key: str) -> list[int]:
    with _lock:
        return [pid for h in _all.get(job_key, []) if (pid := h.pid) is not None]
