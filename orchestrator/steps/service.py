"""Service steps: create-or-update, smoke test, and rollback to an earlier image."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from orchestrator import azcli
from orchestrator.azparse import Image, Service
from orchestrator.context import Context
from orchestrator.errors import MlopsError, RollbackError, SmokeTestFailed
from orchestrator.recipes import Recipe
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


def _runs_image(service: Service, image_name: str, image_version: int) -> bool:
    return bool(service.image_url and service.image_url.endswith(f"/{image_name}:{image_version}"))


class ServiceStep:
    """Create the service, or update it to the new image; nothing when it already runs that image."""

    kind = "service"

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
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
        image_id, image_name, image_version = (
            ctx.produced["image_id"],
            ctx.produced["image_name"],
            ctx.produced["image_version"],
        )
        record = {
            "service_name": s.name, "image_id": image_id, "image_name": image_name, "image_version": image_version,
            "model_name": ctx.produced.get("model_name"), "model_version": ctx.produced.get("model_version"), "run_id": ctx.run_id,
        }  # fmt: skip
        current = find_service(ctx, s.name)
        if current is None:
            dep = ctx.journal.record_deployment(service_id=None, outcome="pending", action="create", **record)
            ctx.journal.intend("service", s.name, ctx.run_id)
            try:
                deployed = ctx.az.service_create(s.name, image_id, s.replicas if cluster else None)
            except MlopsError:
                ctx.journal.set_outcome(dep, "failed")
                raise
            ctx.journal.record("service", s.name, deployed.service_id, ctx.run_id)
            ctx.journal.set_outcome(dep, "deployed", deployed.service_id)
            ctx.created(f"service {s.name} (id {deployed.service_id}) on image {image_name}:{image_version}")
            ctx.produced.update(service_id=deployed.service_id, deployment_id=dep)
            return StepResult(
                self.kind, "created", f"service {deployed.service_id}", {"service_id": deployed.service_id}
            )
        if _runs_image(current, image_name, image_version):
            ctx.exists(f"service {s.name} (id {current.id}) already runs image {image_name}:{image_version}")
            history = [d for d in ctx.journal.deployments(s.name) if d.image_id == image_id]
            dep = (
                history[-1].id
                if history
                else ctx.journal.record_deployment(
                    service_id=current.id, outcome="deployed", action="adopt", **record
                )
            )
            ctx.produced.update(service_id=current.id, deployment_id=dep)
            return StepResult(self.kind, "exists", f"service {current.id}", {"service_id": current.id})
        if not cluster or current.id == current.name:
            raise MlopsError(
                f"service {s.name} is a local-mode service, and the legacy CLI cannot update those "
                "(`Error, service update not supported for local services.`); deploy to a cluster environment"
            )
        verbose = ctx.az.service_show(current.id, verbose=True)
        previous = verbose.image_id if verbose else None
        dep = ctx.journal.record_deployment(
            service_id=current.id, outcome="pending", action="update", **record
        )
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
        ctx.produced.update(service_id=current.id, deployment_id=dep, previous_image_id=previous)
        return StepResult(self.kind, "updated", f"service {current.id}", {"service_id": current.id})


def _normalize(answer: str) -> str:
    text = answer.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text


class Smoke:
    """`service run realtime -i ID -d SAMPLE` must answer the expected value (quotes ignored)."""

    kind = "smoke"

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
        smoke = recipe.params.smoke
        assert smoke
        return [
            PlannedCall(azcli.service_run_argv("<SERVICE_ID>", smoke.data), note=f"expects {smoke.expect}")
        ]

    def run(self, ctx: Context) -> StepResult:
        smoke = ctx.recipe.params.smoke
        assert smoke is not None
        service_id = ctx.produced.get("service_id")
        if not service_id:
            found = find_service(ctx, ctx.recipe.params.service.name)
            if found is None:
                raise MlopsError(f"service {ctx.recipe.params.service.name} not found; nothing to smoke-test")
            service_id = found.id
        dep = ctx.produced.get("deployment_id")
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
    """Redeploy an earlier image: `options['to']` (image version or id) or the previous one."""

    kind = "rollback"

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
        to = options.get("to")
        target = str(to) if to and _GUID.match(str(to)) else "<PREVIOUS_IMAGE_ID>"
        return [
            PlannedCall(azcli.service_show_name_argv(recipe.params.service.name)),
            PlannedCall(azcli.service_show_argv("<SERVICE_ID>", verbose=True), note="current image"),
            PlannedCall(azcli.image_show_argv(target)),
            PlannedCall(azcli.service_update_argv("<SERVICE_ID>", target)),
        ]

    def _target(self, ctx: Context, name: str, current: Service) -> str:
        to = ctx.options.get("to")
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
    def _current_image_name(ctx: Context, current: Service) -> str | None:
        if current.image_url:
            return current.image_url.rsplit("/", 1)[-1].split(":", 1)[0]
        return None

    @staticmethod
    def _images(ctx: Context, image_name: str | None) -> list[Image]:
        return [i for i in ctx.az.image_list() if image_name is None or i.name == image_name]

    def run(self, ctx: Context) -> StepResult:
        name = ctx.recipe.params.service.name
        found = find_service(ctx, name)
        if found is None:
            raise RollbackError(f"service {name} not found; nothing to roll back")
        current = ctx.az.service_show(found.id, verbose=True) or found
        target_id = self._target(ctx, name, current)
        target = ctx.az.image_show(target_id)
        if target is None or target.state != "Succeeded":
            state = target.state if target else "not found"
            raise RollbackError(f"cannot roll back {name} to image {target_id}: image is {state}")
        if target.id == current.image_id:
            ctx.exists(f"service {name} already runs image {target.name}:{target.version}")
            ctx.produced.update(service_id=found.id)
            return StepResult(self.kind, "exists", f"service {found.id}", {"image_id": target.id})
        dep = ctx.journal.record_deployment(
            service_name=name, service_id=found.id, image_id=target.id, image_name=target.name,
            image_version=target.version, model_name=None, model_version=None, outcome="pending",
            action="rollback", run_id=ctx.run_id,
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
        ctx.produced.update(service_id=found.id, deployment_id=dep, image_id=target.id)
        return StepResult(
            self.kind,
            "updated",
            f"service {found.id} -> {target.name}:{target.version}",
            {"image_id": target.id},
        )
