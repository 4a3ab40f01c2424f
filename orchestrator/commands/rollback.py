"""`mlops rollback --service NAME [--to VERSION|IMAGE_ID]`: redeploy an earlier image, then smoke-test."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import pipeline, recipes
from orchestrator.context import Options
from orchestrator.result import Outcome
from orchestrator.session import Session

RECIPE = "rollback"


def rollback(service: str, to: str | None, overrides: Sequence[str], session: Session) -> Outcome:
    """Roll `service` back to image `to` (a version number or an image id) or to the previous image."""
    loaded = recipes.load(RECIPE, [f"service.name={service}", *overrides])
    return pipeline.execute("rollback", loaded, session, Options(to=to or None))
