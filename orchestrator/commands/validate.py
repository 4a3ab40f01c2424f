"""`mlops validate [RECIPE...]`: check recipes against the schema and the steps' inputs, calling nothing.

An invalid recipe is a usage error (exit code 2), as it is for `recipe` and the other commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import dataflow, recipes
from orchestrator.errors import RecipeError
from orchestrator.result import OK, USAGE, Outcome
from orchestrator.session import Session


def validate(names: Sequence[str], overrides: Sequence[str], session: Session) -> Outcome:
    """Validate the given recipes (all bundled recipes when none are given)."""
    targets = list(names) or [str(p) for p in recipes.bundled()]
    errors: list[str] = []
    checked: list[dict[str, object]] = []
    for name in targets:
        try:
            loaded = recipes.load(name, overrides)
            dataflow.check(loaded)
        except RecipeError as exc:
            errors.append(str(exc))
            checked.append({"recipe": name, "valid": False})
            continue
        session.out.info(f"ok: {loaded.path} ({loaded.name}, {len(loaded.steps)} steps)")
        checked.append({"recipe": str(loaded.path), "valid": True})
    return Outcome(
        "validate", {"recipes": checked}, tuple(session.out.messages), tuple(errors), USAGE if errors else OK
    )
