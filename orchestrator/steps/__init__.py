"""Step kinds: a `StepKind` Protocol and the one registry of implementations (convention 12)."""

# PlannedCall is re-exported here for step authors.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from orchestrator.result import PlannedCall
from orchestrator.steps import artifacts, infra, local, service

if TYPE_CHECKING:
    from orchestrator.context import Context
    from orchestrator.recipes import Recipe
    from orchestrator.result import StepResult


class StepKind(Protocol):
    """A kind of recipe step."""

    kind: str

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
        """The commands this step runs on a fresh deployment, with <PLACEHOLDER> ids."""
        ...

    def run(self, ctx: Context) -> StepResult:
        """Do the step idempotently: find what exists, create only what is missing."""
        ...


REGISTRY: Final[Mapping[str, StepKind]] = {
    step.kind: step
    for step in (
        local.Train(),
        local.Schema(),
        infra.Account(),
        infra.Env(),
        infra.EnvSet(),
        artifacts.ModelStep(),
        artifacts.ManifestStep(),
        artifacts.ImageStep(),
        service.ServiceStep(),
        service.Smoke(),
        service.Rollback(),
    )
}
