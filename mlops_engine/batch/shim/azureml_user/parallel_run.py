"""``from azureml_user.parallel_run import EntryScript`` for entry scripts run by the mlops batch engine.

Azure ML injects this module into ParallelRunStep workers and ships it in no public package, so scripts that
use it could not run anywhere else.  Same surface: a per-process singleton with ``logger``, ``log_dir``,
``output_dir`` and ``agent_name``; values come from the worker (environment variables set by the engine).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Self


class EntryScript:
    """Per-process helper: logger to logs/user/entry_script_log/<node>/<agent>.log.txt, the job's output folder."""

    _instance: Any = None

    def __new__(cls) -> Self:
        if cls._instance is None:
            inst = super().__new__(cls)
            inst._setup()
            cls._instance = inst
        instance: Self = cls._instance
        return instance

    def _setup(self) -> None:
        self.agent_name: str = os.environ.get("MLOPS_BATCH_AGENT", "process000")
        self.node_id: str = os.environ.get("MLOPS_BATCH_NODE", "0")
        self.output_dir: str = os.environ.get("AZUREML_BI_OUTPUT_PATH", os.getcwd())
        logs = Path(os.environ.get("MLOPS_BATCH_LOG_DIR", os.getcwd()))
        self.log_dir: str = str(logs / "user" / "entry_script_log" / self.node_id)
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        logger = logging.getLogger(f"azureml_user.parallel_run.{self.agent_name}")
        if not logger.handlers:
            handler = logging.FileHandler(Path(self.log_dir) / f"{self.agent_name}.log.txt", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s|%(levelname)s|%(message)s"))
            logger.addHandler(handler)
        logger.setLevel(os.environ.get("MLOPS_BATCH_LOGGING_LEVEL", "INFO"))
        self.logger: logging.Logger = logger

    def __getattr__(
        self, name: str
    ) -> Any:  # pragma: no cover - clearer than AttributeError for unported members
        raise AttributeError(f"EntryScript.{name} is not provided by the mlops batch engine")
