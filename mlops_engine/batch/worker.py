"""A batch worker process: ``python -m mlops_engine.batch.worker``, driven over stdin/stdout by the engine.

The protocol pipes are moved off fds 0/1 first, so the user's print() and stray writes land in the worker's
log files and can never corrupt a message.  A watchdog thread ends the process when its parent dies, even
while run() is busy: a worker never outlives the engine that started it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO

from mlops_engine.batch import entry
from mlops_engine.batch.protocol import (
    BatchDone,
    BatchFailed,
    InitFailed,
    Ready,
    RunBatch,
    WorkerConfig,
    read_message,
    write_message,
)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(70)


def _redirect_output(config: WorkerConfig) -> None:
    logs = Path(config.log_dir) / "user"
    for stream, fd in (("stdout", 1), ("stderr", 2)):
        folder = logs / stream / config.node_id
        folder.mkdir(parents=True, exist_ok=True)
        target = os.open(
            folder / f"{config.agent_name}.{stream}.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115


def _environment(config: WorkerConfig) -> None:
    os.environ["AZUREML_BI_OUTPUT_PATH"] = config.output_dir
    os.environ["MLOPS_BATCH_AGENT"] = config.agent_name
    os.environ["MLOPS_BATCH_NODE"] = config.node_id
    os.environ["MLOPS_BATCH_LOG_DIR"] = config.log_dir
    os.environ["MLOPS_BATCH_LOGGING_LEVEL"] = config.logging_level


def serve(proto_in: IO[bytes], proto_out: IO[bytes]) -> int:
    config = read_message(proto_in)
    if not isinstance(config, WorkerConfig):
        return 2
    _redirect_output(config)
    _environment(config)
    started = time.monotonic()
    try:
        import pandas  # noqa: F401 - paid during start-up, not inside the first run_invocation_timeout

        module = entry.load_entry_module(config.entry_script, config.source_dirs, config.arguments)
        entry.call_init(module)
    except BaseException:  # noqa: BLE001 - any failure of the user's init is reported, not raised
        error = traceback.format_exc()
        sys.stderr.write(error)
        write_message(proto_out, InitFailed(os.getpid(), error))
        return 3
    write_message(proto_out, Ready(os.getpid(), time.monotonic() - started))
    append_row = config.output_action == "append_row"
    while True:
        try:
            message = read_message(proto_in)
        except EOFError:
            return 0
        if not isinstance(message, RunBatch):
            return 0
        batch = message.batch
        began = time.monotonic()
        items = batch.items
        try:
            mini_batch, items = entry.read_mini_batch(batch)
            result = module.run(mini_batch)
            returned, payload, header = entry.serialize(result, append_row, config.dataframe_header)
        except Exception:  # noqa: BLE001 - run() failures are the job's business, not the worker's
            error = traceback.format_exc()
            sys.stderr.write(f"{batch.describe()} attempt {message.attempt} failed:\n{error}")
            write_message(proto_out, BatchFailed(batch.index, items, error, time.monotonic() - began))
            continue
        write_message(
            proto_out, BatchDone(batch.index, items, returned, payload, header, time.monotonic() - began)
        )


def main() -> int:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    try:
        return serve(proto_in, proto_out)
    except (BrokenPipeError, EOFError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
