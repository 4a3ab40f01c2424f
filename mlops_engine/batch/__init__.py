"""Batch execution core: Azure ML's ParallelRunStep contract and the legacy batch driver, run on local worker
processes or a Dask cluster, with retries, timeouts, error thresholds, ordered output and resumable jobs.

Entry points: :class:`BatchJob` with a :class:`ParallelJobSpec` or :class:`LegacyJobSpec`, and :func:`recover`
after a restart.  See docs/batch.md.
"""

from __future__ import annotations

from mlops_engine.batch.errors import BatchConfigError, BatchError, BatchInputError, BatchStateError
from mlops_engine.batch.job import BatchJob
from mlops_engine.batch.legacy import DriverParameter, LegacyDriverSpec
from mlops_engine.batch.records import JobRecord, JobResult, JobState, Progress
from mlops_engine.batch.recovery import recover
from mlops_engine.batch.settings import (
    ParallelRunSettings,
    settings_from_file,
    settings_from_mapping,
    settings_from_params,
)
from mlops_engine.batch.specs import ExecutorSpec, LegacyJobSpec, ParallelJobSpec
from mlops_engine.batch.state import read_record

__all__ = [
    "BatchConfigError",
    "BatchError",
    "BatchInputError",
    "BatchJob",
    "BatchStateError",
    "DriverParameter",
    "ExecutorSpec",
    "JobRecord",
    "JobResult",
    "JobState",
    "LegacyDriverSpec",
    "LegacyJobSpec",
    "ParallelJobSpec",
    "ParallelRunSettings",
    "Progress",
    "read_record",
    "recover",
    "settings_from_file",
    "settings_from_mapping",
    "settings_from_params",
]
