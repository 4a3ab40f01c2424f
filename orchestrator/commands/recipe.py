"""`mlops recipe NAME`: run a bundled recipe (or a recipe file) end to end."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import pipeline, recipes
from orchestrator.result import Outcome
from orchestrator.session import Session


def recipe(name: str, overrides: Sequence[str], session: Session) -> Outcome:
    """Validate the recipe (with overrides), then run or plan it."""
    loaded = recipes.load(name, overrides)
    return pipeline.execute(f"recipe {loaded.name}", loaded, session)
