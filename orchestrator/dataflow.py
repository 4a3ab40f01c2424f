"""The recipe's step order checked against the steps' contracts, before anything runs (issue 8, item 4).

Each step kind declares the params sections it reads and the products it needs from earlier steps
(`orchestrator.products.Contract`). `check` walks the steps in order with what the earlier ones
provide and names every step whose input is missing, e.g. `steps: [service]`:

    recipe.yaml: $.steps[0].kind: step 'service' needs a built image, which no earlier step provides
    (put a step of kind 'image' before it)
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.errors import RecipeError
from orchestrator.products import Product
from orchestrator.recipes import Recipe, json_path
from orchestrator.steps import REGISTRY, StepKind

_MAX_SHOWN = 10


def providers(kind: type[Product], registry: Mapping[str, StepKind] = REGISTRY) -> list[str]:
    """The step kinds that always provide `kind`."""
    return [name for name, step in registry.items() if kind in step.contract.provides]


def problems(recipe: Recipe, registry: Mapping[str, StepKind] = REGISTRY) -> list[str]:
    """One line per missing params section or missing input, in step order (empty: the recipe is sound)."""
    source = recipe.source
    found: list[str] = []
    available: set[type[Product]] = set()
    kinds = [step.kind for step in recipe.steps]
    for index, kind in enumerate(kinds):
        where = f"{source}: {json_path(['steps', index, 'kind'])}"
        contract = registry[kind].contract
        for section in contract.params:
            if getattr(recipe.params, section) is None:
                found.append(
                    f"{where}: step {kind!r} needs {json_path(['params', section])}, which is missing"
                )
        for needed in contract.needs:
            if needed not in available:
                found.append(f"{where}: step {kind!r} needs {needed.label}, which no earlier step provides"
                             f" ({_advice(needed, kinds, index, registry)})")  # fmt: skip
        available.update(contract.provides)
    return found


def _advice(needed: type[Product], kinds: list[str], index: int, registry: Mapping[str, StepKind]) -> str:
    makers = providers(needed, registry)
    later = [i for i in range(index + 1, len(kinds)) if kinds[i] in makers]
    if later:
        return f"the {kinds[later[0]]!r} step at {json_path(['steps', later[0]])} must come before it"
    return "put a step of kind " + " or ".join(repr(m) for m in makers) + " before it"


def check(recipe: Recipe, registry: Mapping[str, StepKind] = REGISTRY) -> None:
    """Raise `RecipeError` naming each step whose params section or input is missing."""
    found = problems(recipe, registry)
    if found:
        more = f"\n  ... and {len(found) - _MAX_SHOWN} more" if len(found) > _MAX_SHOWN else ""
        raise RecipeError("invalid recipe\n  " + "\n  ".join(found[:_MAX_SHOWN]) + more)
