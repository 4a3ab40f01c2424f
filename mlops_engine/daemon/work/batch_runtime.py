"""Batch scoring inside the daemon: the job runner, the scheduler and the pipeline endpoint, started and
stopped with it (app.py registers them)."""

from __future__ import annotations

import threading

from ..engine import Engine
from ..server import Route
from .batch_jobs import JobRunner
from .endpoints import EndpointServer, bind
from .schedules import Scheduler


class BatchRuntime:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runner = JobRunner(engine)
        self.scheduler = Scheduler(engine, self.runner)
        self.endpoint: EndpointServer | None = None

    @property
    def endpoint_port(self) -> int:
        return self.endpoint.server_address[1] if self.endpoint is not None else 0

    def recover(self) -> None:
        """Before serving: resume, queue or fail the jobs a previous daemon left."""
        self.runner.recover()

    def start(self, endpoint_routes: list[Route]) -> None:
        self.endpoint = bind(self.engine.db, endpoint_routes)
        threading.Thread(
            target=self.endpoint.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="pipeline-endpoint",
            daemon=True,
        ).start()
        self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.stop()
        if self.endpoint is not None:
            self.endpoint.shutdown()
            self.endpoint.server_close()
        self.runner.shutdown()
