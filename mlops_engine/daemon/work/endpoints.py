"""The published pipelines' REST endpoint: its own HTTP server on 127.0.0.1, authenticated per pipeline.

The daemon's API takes the daemon token; a published pipeline is called by others (CI jobs, scripts) with that
pipeline's key instead (`Authorization: Bearer <key>`, checked by the route), so it listens on a port of its
own. The port is kept in state.db and reused after a restart when it is free, so endpoints stay the same.
"""

from __future__ import annotations

import logging
from http.server import ThreadingHTTPServer
from typing import Final

from ..server import EngineHTTPServer, Limits, Route, Router, _RequestHandler
from ..store.database import Database

log = logging.getLogger(__name__)
PORT_KEY: Final = "pipeline_endpoint_port"


class _Handler(_RequestHandler):
    def _authorize(self) -> None:
        """Each endpoint route checks its pipeline's own keys (never the daemon token)."""


class EndpointServer(EngineHTTPServer):
    def __init__(self, address: tuple[str, int], router: Router, limits: Limits | None = None) -> None:
        self.router = router
        self.token = ""
        self.limits = limits or Limits(max_json_body=1 << 20)
        ThreadingHTTPServer.__init__(self, address, _Handler)


def bind(db: Database, routes: list[Route]) -> EndpointServer:
    """Listen on the port of the previous run if it is free, else on a new one (remembered for the next)."""
    previous = int(db.meta(PORT_KEY, lambda: "0"))
    for port in dict.fromkeys((previous, 0)):
        try:
            server = EndpointServer(("127.0.0.1", port), Router(routes))
            break
        except OSError:
            log.info("pipeline endpoint port %d is busy; taking another one", port)
    else:  # pragma: no cover - port 0 always binds
        raise OSError("cannot bind the pipeline endpoint")
    chosen = server.server_address[1]
    if chosen != previous:
        with db.tx() as conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(chosen), PORT_KEY))
    return server
