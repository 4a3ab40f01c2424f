"""Service steps: create-or-update, smoke test, and rollback to an earlier image."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from orchestrator import azcli
from orchestrator.azparse import Image, Service
from orchestrator.context import Context, Options
from orchestrator.errors import MlopsError, RollbackError, SmokeTestFailed
from orchestrator.journal import Location
from orchestrator.products import (
    BuiltImage,
    Contract,
    DeployedService,
    RegisteredModel,
    SelectedAccount,
    SelectedEnvironment,
    ServiceLocation,
)
from orchestrator.recipes import Recipe
from orchestrator.reconcile import Live, needs_reconcile, reconcile
from orchestrator.result import PlannedCall, StepResult

_GUID: Final = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
LIVE: Final = ("succeeded", "deployed")


def find_service(ctx: Context, name: str) -> Service | None:
    """The journal's id for this service if `service show -i` confirms it, else a lookup by name."""
    known = ctx.journal.service_id(name)
    found = ctx.az.service_show(known) if known else None
    return found if found is not None else ctx.az.service_find(name)


def selected_location(ctx: Context) -> Location | None:
    """Where this run deploys: the account and environment earlier steps selected (None: not known)."""
    account, env = ctx.use(SelectedAccount), ctx.use(SelectedEnvironment)
    if env is None and account is None:
        return None
    group = env.resource_group if env else account.resource_group if account else ""
    return Location(group, account.account if account else None, env.environment if env else None)


def settle_journal(ctx: Context, name: str, found: Service | None, shown: Service | None = None) -> None:
    """Settle the rows earlier, dead runs left unfinished for this service (reconcile.py); `shown` is a
    `service show -v` the caller already has, else one is made, only when a row needs it."""
    if not needs_reconcile(ctx.journal, name):
        return
    if shown is None and found is not None:
        shown = ctx.az.service_show(found.id, verbose=True)
    live = Live(shown.image_id, shown.state) if shown is not None else Live(None, None)
    for change in reconcile(ctx.journal, name, live):
        ctx.out.info(change.describe())


def _runs_image(service: Service, image_name: str, image_version: int) -> bool:
    return bool(service.image_url and service.image_url.endswith(f"/{image_name}:{image_version}"))


class ServiceStep:
    """Create the service, or update it to the new image; nothing when it already runs that image."""

    kind = "service"
    contract = Contract(
        params=("service",),
        needs=(BuiltImage,),
        uses=(RegisteredModel, SelectedAccount, SelectedEnvironment),
        provides=(DeployedService,),
    )

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        s = recipe.params.service
        env = recipe.params.environment
        replicas = s.replicas if env is None or env.cluster else None
        return [
            PlannedCall(
                azcli.service_show_name_argv(s.name), note="exists? update it (or nothing if same image)"
            ),
            PlannedCall(azcli.service_create_argv(s.name, "<IMAGE_ID>", replicas)),
        ]

    def run(self, ctx: Context) -> StepResult:
        params = ctx.recipe.params
        s = params.service
        cluster = params.environment.cluster if params.environment else True
        image = ctx.need(BuiltImage)
        image_id, image_name, image_version = image.image_id, image.image_name, image.image_version
        model = ctx.use(RegisteredModel)
        where = selected_location(ctx)

        def record(service_id: str | None, outcome: str, action: str) -> int:
            return ctx.journal.record_deployment(
                service_name=s.name, service_id=service_id, image_id=image_id, image_name=image_name,
                image_version=image_version, model_name=model.model_name if model else None,
                model_version=model.model_version if model else None, outcome=outcome, action=action,
                run_id=ctx.run_id, location=where,
            )  # fmt: skip

        current = find_service(ctx, s.name)
        settle_journal(ctx, s.name, current)
        if current is None:
            dep = record(None, "pending", "create")
            ctx.journal.intend("service", s.name, ctx.run_id)
            try:
                deployed = ctx.az.service_create(s.name, image_id, s.replicas if cluster else None)
            except MlopsError as exc:
                ctx.journal.set_outcome(dep, "failed")
                raced = find_service(ctx, s.name) if "already exists" in str(exc) else None
                if raced is None or not _runs_image(raced, image_name, image_version):
                    raise
                # another client created it on this very image meanwhile: use it rather than fail
                ctx.journal.settle(dep, "deployed", "adopt")
                ctx.exists(f"service {s.name} (id {raced.id}) was created meanwhile on image {image_name}:{image_version}")
                ctx.provide(DeployedService(raced.id, dep))
                return StepResult(self.kind, "exists", f"service {raced.id}", {"service_id": raced.id})
            ctx.journal.record("service", s.name, deployed.service_id, ctx.run_id)
            ctx.journal.set_outcome(dep, "deployed", deployed.service_id)
            ctx.created(f"service {s.name} (id {deployed.service_id}) on image {image_name}:{image_version}")
            ctx.provide(DeployedService(deployed.service_id, dep))
            return StepResult(
                self.kind, "created", f"service {deployed.service_id}", {"service_id": deployed.service_id}
            )
        if _runs_image(current, image_name, image_version):
            ctx.exists(f"service {s.name} (id {current.id}) already runs image {image_name}:{image_version}")
            history = [d for d in ctx.journal.deployments(s.name) if d.image_id == image_id]
            dep = history[-1].id if history else record(current.id, "deployed", "adopt")
            ctx.provide(DeployedService(current.id, dep))
            return StepResult(self.kind, "exists", f"service {current.id}", {"service_id": current.id})
        if not cluster or current.id == current.name:
            raise MlopsError(
                f"service {s.name} is a local-mode service, and the legacy CLI cannot update those "
                "(`Error, service update not supported for local services.`); deploy to a cluster environment"
            )
        verbose = ctx.az.service_show(current.id, verbose=True)
        previous = verbose.image_id if verbose else None
        dep = record(current.id, "pending", "update")
        try:
            ctx.az.service_update(current.id, image_id)
        except MlopsError:
            ctx.journal.set_outcome(dep, "failed")
            raise
        ctx.journal.set_outcome(dep, "deployed")
        was = f" (was {current.image_url.rsplit('/', 1)[-1]})" if current.image_url else ""
        ctx.out.info(
            f"updated: service {s.name} (id {current.id}) to image {image_name}:{image_version}{was}"
        )
        ctx.provide(DeployedService(current.id, dep, previous_image_id=previous))
        return StepResult(self.kind, "updated", f"service {current.id}", {"service_id": current.id})


def _normalize(answer: str) -> str:
    text = answer.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text


class Smoke:
    """`service run realtime -i ID -d SAMPLE` must answer the expected value (quotes ignored)."""

    kind = "smoke"
    contract = Contract(params=("smoke",), uses=(DeployedService,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        smoke = recipe.params.smoke
        assert smoke
        return [
            PlannedCall(azcli.service_run_argv("<SERVICE_ID>", smoke.data), note=f"expects {smoke.expect}")
        ]

    def run(self, ctx: Context) -> StepResult:
        smoke = ctx.recipe.params.smoke
        assert smoke is not None
        deployed = ctx.use(DeployedService)
        if deployed is None:
            found = find_service(ctx, ctx.recipe.params.service.name)
            if found is None:
                raise MlopsError(f"service {ctx.recipe.params.service.name} not found; nothing to smoke-test")
            deployed = DeployedService(found.id)
        service_id, dep = deployed.service_id, deployed.deployment_id
        answer = ctx.az.service_run(service_id, smoke.data)
        if _normalize(answer) != _normalize(smoke.expect):
            if dep:
                ctx.journal.set_outcome(dep, "failed")
            raise SmokeTestFailed(service_id, smoke.expect, answer)
        if dep:
            ctx.journal.set_outcome(dep, "succeeded")
        ctx.out.info(f"smoke test passed: {service_id} answered {answer}")
        return StepResult(self.kind, "done", f"answered {answer}", {"answer": answer})


class Rollback:
    """Redeploy an earlier image: `options.to` (image version or id) or the previous one."""

    kind = "rollback"
    contract = Contract(
        params=("service",),
        uses=(ServiceLocation, SelectedAccount, SelectedEnvironment),
        provides=(DeployedService,),
    )

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        to = options.to
        target = str(to) if to and _GUID.match(str(to)) else "<PREVIOUS_IMAGE_ID>"
        return [
            PlannedCall(azcli.service_show_name_argv(recipe.params.service.name)),
            PlannedCall(azcli.service_show_argv("<SERVICE_ID>", verbose=True), note="current image"),
            PlannedCall(azcli.image_show_argv(target)),
            PlannedCall(azcli.service_update_argv("<SERVICE_ID>", target)),
        ]

    def _target(self, ctx: Context, name: str, current: Service) -> str:
        to = ctx.options.to
        history = ctx.journal.deployments(name)
        if to and _GUID.match(str(to)):
            return str(to)
        if to:
            if not str(to).isdigit():
                raise RollbackError(f"--to {to!r}: expected an image version number or an image id")
            version = int(str(to))
            image_name = self._current_image_name(ctx, current)
            for d in reversed(history):
                if d.image_version == version and (image_name is None or d.image_name in (None, image_name)):
                    return d.image_id
            for image in self._images(ctx, image_name):
                if image.version == version:
                    return image.id
            raise RollbackError(f"no image version {version} of {image_name or 'this service'} is known")
        for d in reversed(history):
            if d.outcome in LIVE and d.image_id != current.image_id:
                return d.image_id
        image_name = self._current_image_name(ctx, current)
        older = [
            i for i in self._images(ctx, image_name)
            if i.state == "Succeeded" and current.image_version is not None and i.version < current.image_version
        ]  # fmt: skip
        if older:
            return max(older, key=lambda i: i.version).id
        raise RollbackError(
            f"no earlier image is known for service {name}: the journal has no history and "
            "`az ml image list` shows no older version; use --to IMAGE_ID"
        )

    @staticmethod
    def _not_found(name: str, located: ServiceLocation | None) -> str:
        if located is not None and located.environment:
            return (
                f"service {name} not found in {located.describe()}, where the journal recorded its last "
                "deployment; nothing to roll back"
            )
        return (
            f"service {name} not found in the current environment, and the journal does not know where it was "
            "deployed; select its account and environment (`az ml account modelmanagement set -n NAME -g GROUP`, "
            "`az ml env set -n NAME -g GROUP`) and try again"
        )

    @staticmethod
    def _current_image_name(ctx: Context, current: Service) -> str | None:
        if current.image_url:
            return current.image_url.rsplit("/", 1)[-1].split(":", 1)[0]
        return None

    @staticmethod
    def _images(ctx: Context, image_name: str | None) -> list[Image]:
        return [i for i in ctx.az.image_list() if image_name is None or i.name == image_name]

    def run(self, ctx: Context) -> StepResult:
        name = ctx.recipe.params.service.name
        located = ctx.use(ServiceLocation)
        found = find_service(ctx, name)
        if found is None:
            raise RollbackError(self._not_found(name, located))
        shown = ctx.az.service_show(found.id, verbose=True)
        settle_journal(ctx, name, found, shown)
        current = shown or found
        target_id = self._target(ctx, name, current)
        target = ctx.az.image_show(target_id)
        if target is None or target.state != "Succeeded":
            state = target.state if target else "not found"
            raise RollbackError(f"cannot roll back {name} to image {target_id}: image is {state}")
        if target.id == current.image_id:
            ctx.exists(f"service {name} already runs image {target.name}:{target.version}")
            ctx.provide(DeployedService(found.id))
            return StepResult(self.kind, "exists", f"service {found.id}", {"image_id": target.id})
        model = ctx.journal.model_of_image(target.id)
        where = (
            Location(located.resource_group or "", located.account, located.environment)
            if located is not None and located.environment
            else selected_location(ctx)
        )
        dep = ctx.journal.record_deployment(
            service_name=name, service_id=found.id, image_id=target.id, image_name=target.name,
            image_version=target.version, model_name=model[0] if model else None,
            model_version=model[1] if model else None, outcome="pending", action="rollback",
            run_id=ctx.run_id, location=where,
        )  # fmt: skip
        try:
            ctx.az.service_update(found.id, target.id)
        except MlopsError as exc:
            ctx.journal.set_outcome(dep, "failed")
            raise RollbackError(
                f"rollback of {name} to image {target.name}:{target.version} failed: {exc}"
            ) from exc
        ctx.journal.set_outcome(dep, "deployed")
        ctx.out.info(
            f"rolled back: service {name} (id {found.id}) to image {target.name}:{target.version} (id {target.id})"
        )
        ctx.provide(DeployedService(found.id, dep, image_id=target.id))
        return StepResult(
            self.kind,
            "updated",
            f"service {found.id} -> {target.name}:{target.version}",
            {"image_id": target.id},
        )
