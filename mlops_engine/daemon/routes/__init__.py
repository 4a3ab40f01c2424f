"""The routes layer: one thin module per MMS/ARM resource, parsing requests and rendering records as JSON.

This is the daemon's HTTP edge: camelCase JSON exists only here. Handlers parse a request into a typed
command, call the store (reads) or work/ (anything that changes state), and render records.
"""

from __future__ import annotations

from ..engine import Engine
from ..server import Route
from . import accounts, artifacts, environments, images, manifests, models, operations, services


def resource_routes(engine: Engine) -> list[Route]:
    """Every resource route, in matching order."""
    table: list[Route] = []
    for module in (accounts, artifacts, environments, models, manifests, images, services, operations):
        table.extend(module.routes(engine))
    return table
