"""The wire between the engine and a worker process: typed messages, length-prefixed pickles over pipes.

Both sides import this module; the engine writes a :class:`WorkerConfig` first, then :class:`RunBatch` /
:class:`Stop`; the worker answers :class:`Ready` or :class:`InitFailed` once, then one :class:`BatchDone` or
:class:`BatchFailed` per :class:`RunBatch`.  Pickle is safe here: both ends are this package, started by the
engine over a private pipe.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Final

from mlops_engine.batch.plan import MiniBatch

VERSION: Final = 1
_HEADER = struct.Struct(">Q")
_SLICE: Final = 0.05  # seconds between checks of the cancel flag while waiting


@dataclass(frozen=True)
class WorkerConfig:
    entry_script: str
    source_dirs: tuple[str, ...]
    output_action: str
    dataframe_header: bool
    arguments: tuple[str, ...]
    output_dir: str
    log_dir: str
    node_id: str
    agent_name: str
    logging_level: str
    version: int = VERSION


@dataclass(frozen=True)
class RunBatch:
    batch: MiniBatch
    attempt: int


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Ready:
    pid: int
    init_seconds: float


@dataclass(frozen=True)
class InitFailed:
    pid: int
    error: str


@dataclass(frozen=True)
class BatchDone:
    index: int
    items: int
    returned: int
    payload: bytes
    header: bytes
    seconds: float


@dataclass(frozen=True)
class BatchFailed:
    index: int
    items: int
    error: str
    seconds: float


ToWorker = WorkerConfig | RunBatch | Stop
FromWorker = Ready | InitFailed | BatchDone | BatchFailed


class Timeout(Exception):
    """No complete message before the deadline."""


class Cancelled(Exception):
    """The wait was abandoned because the job is being cancelled."""


def write_message(stream: IO[bytes], message: ToWorker | FromWorker) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_message(stream: IO[bytes]) -> ToWorker | FromWorker:
    """Blocking read of one message (worker side); EOFError when the other end is gone."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("pipe closed")
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("pipe closed mid-message")
    message: ToWorker | FromWorker = pickle.loads(data)
    return message


def _read_exactly(fd: int, size: int, deadline: float, cancelled: Callable[[], bool]) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        _wait_readable(fd, deadline, cancelled)
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _wait_readable(fd: int, deadline: float, cancelled: Callable[[], bool]) -> None:
    while True:
        if cancelled():
            raise Cancelled()
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        ready, _, _ = select.select([fd], [], [], min(left, _SLICE))
        if ready:
            return


def receive(fd: int, deadline: float, cancelled: Callable[[], bool]) -> FromWorker:
    """Engine side: one message from a worker's pipe, or Timeout / Cancelled / EOFError."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline, cancelled))
    # Once a frame has started, the rest is already being written: do not cut it at the deadline.
    data = _read_exactly(fd, size, max(deadline, time.monotonic() + 30.0), cancelled)
    message: FromWorker = pickle.loads(data)
    return message
