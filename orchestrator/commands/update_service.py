"""`mlops update-service --model KIND [--service NAME]`: new model version behind the same endpoint."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import pipeline, recipes
from orchestrator.result import Outcome
from orchestrator.session import Session

RECIPE = "update-service"


def update_service(model: str, service: str | None, overrides: Sequence[str], session: Session) -> Outcome:
    """Train `model`, register it, build an image, update the service, smoke-test (rollback on failure)."""
    sets = [f"model.kind={model}", f"model.name={model}", f"manifest.name={model}"]
    if service:
        sets.append(f"service.name={service}")
    loaded = recipes.load(RECIPE, [*sets, *overrides])
    return pipeline.execute("update-service", loaded, session)
