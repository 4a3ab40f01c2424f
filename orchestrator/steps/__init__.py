"""Step kinds: a `StepKind` Protocol and the one registry of implementations (convention 12)."""

# PlannedCall is re-exported here for step authors.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from orchestrator.result import PlannedCall
from orchestrator.steps import artifacts, batch, infra, local, service

if TYPE_CHECKING:
    from orchestrator.context import Context, Options
    from orchestrator.products import Contract
    from orchestrator.recipes import Recipe
    from orchestrator.result import StepResult


class StepKind(Protocol):
    """A kind of recipe step: its word in recipes, its contract (params, needs, uses, provides), plan and run."""

    @property
    def kind(self) -> str: ...

    @property
    def contract(self) -> Contract: ...

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
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
        infra.Locate(),
        artifacts.ModelStep(),
        artifacts.ManifestStep(),
        artifacts.ImageStep(),
        service.ServiceStep(),
        service.Smoke(),
        service.Rollback(),
        batch.BatchData(),
        batch.BatchServiceStep(),
        batch.Publish(),
        batch.BatchJob(),
    )
}
