"""Account and environment steps: find or create, then select them as the CLI's current context.

`locate` selects the account and environment where the journal recorded a service's last deployment,
so `rollback` works after a lab (or a user) switched the current ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import azcli
from orchestrator.azparse import Environment
from orchestrator.context import Context, Options
from orchestrator.errors import CommandFailed, MlopsError
from orchestrator.products import Contract, SelectedAccount, SelectedEnvironment, ServiceLocation
from orchestrator.recipes import Recipe
from orchestrator.result import PlannedCall, StepResult
from orchestrator.retry import poll_until

ENV_DONE = ("Succeeded",)
ENV_FAILED = ("Failed", "Canceled")


class Account:
    """`account modelmanagement show -g -n`; create it if missing, else `set` it (current account)."""

    kind = "account"
    contract = Contract(params=("account",), provides=(SelectedAccount,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        p, a = recipe.params, recipe.params.account
        assert a
        return [
            PlannedCall(
                azcli.account_show_argv(p.resource_group, a.name), note="exists? then `set` instead of create"
            ),
            PlannedCall(
                azcli.account_create_argv(p.resource_group, a.name, p.location, a.sku_name, a.sku_instances)
            ),
        ]

    def run(self, ctx: Context) -> StepResult:
        p, a = ctx.recipe.params, ctx.recipe.params.account
        assert a is not None
        ctx.provide(SelectedAccount(p.resource_group, a.name))
        if ctx.az.account_show(p.resource_group, a.name) is not None:
            ctx.az.account_set(p.resource_group, a.name)
            ctx.exists(f"account {a.name} (resource group {p.resource_group}); selected it")
            return StepResult(self.kind, "exists", f"account {a.name}")
        ctx.journal.intend("account", f"{p.resource_group}/{a.name}", ctx.run_id)
        ctx.az.account_create(p.resource_group, a.name, p.location, a.sku_name, a.sku_instances)
        ctx.journal.record("account", f"{p.resource_group}/{a.name}", a.name, ctx.run_id)
        ctx.created(f"account {a.name} in {p.location} (resource group {p.resource_group})")
        return StepResult(self.kind, "created", f"account {a.name}")


class Env:
    """`env show -g -n`; `env setup` if missing; then poll `env show` until Succeeded (or Failed)."""

    kind = "env"
    contract = Contract(params=("environment",))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        p, e = recipe.params, recipe.params.environment
        assert e
        return [
            PlannedCall(azcli.env_show_argv(p.resource_group, e.name), note="exists? then skip setup"),
            PlannedCall(azcli.env_setup_argv(p.resource_group, e.name, p.location, e.cluster)),
            PlannedCall(
                azcli.env_show_argv(p.resource_group, e.name),
                note="repeated until Provisioning State is Succeeded",
            ),
        ]

    def run(self, ctx: Context) -> StepResult:
        p, e = ctx.recipe.params, ctx.recipe.params.environment
        assert e is not None
        found = ctx.az.env_show(p.resource_group, e.name)
        status = "exists"
        if found is None:
            ctx.journal.intend("environment", f"{p.resource_group}/{e.name}", ctx.run_id)
            ctx.az.env_setup(p.resource_group, e.name, p.location, e.cluster)
            ctx.journal.record("environment", f"{p.resource_group}/{e.name}", e.name, ctx.run_id)
            ctx.created(f"environment {e.name} ({e.mode} mode) in {p.location}: provisioning submitted")
            status = "created"
        elif found.state in ENV_DONE:
            ctx.exists(f"environment {e.name} ({found.state})")
            return StepResult(self.kind, "exists", f"environment {e.name}")
        else:
            ctx.exists(f"environment {e.name} ({found.state}); waiting for it")
        polls = [0]

        def on_poll(env: Environment) -> None:
            polls[0] += 1
            ctx.out.detail(f"  environment {e.name}: {env.state}")

        def read() -> Environment:
            env = ctx.az.env_show(p.resource_group, e.name)
            if env is None:
                # Right after setup ARM may not list the resource yet: treat it as still creating.
                return Environment(e.name, p.resource_group, p.location, "Creating")
            return env

        final = poll_until(
            read,
            what=f"environment {e.name}",
            state_of=lambda env: env.state,
            errors_of=lambda env: env.errors,
            done=ENV_DONE,
            failed=ENV_FAILED,
            timeout=p.polling.env_timeout_s,
            interval=p.polling.env_interval_s,
            on_poll=on_poll,
            sleep=ctx.sleep,
            clock=ctx.clock,
        )
        ctx.out.info(f"ready: environment {e.name} ({final.state})")
        return StepResult(self.kind, status, f"environment {e.name}", {"polls": polls[0]})


class EnvSet:
    """`env set -n -g`: make the environment the CLI's current target (idempotent)."""

    kind = "env-set"
    contract = Contract(params=("environment",), provides=(SelectedEnvironment,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        e = recipe.params.environment
        assert e
        return [PlannedCall(azcli.env_set_argv(recipe.params.resource_group, e.name))]

    def run(self, ctx: Context) -> StepResult:
        e = ctx.recipe.params.environment
        assert e is not None
        name = ctx.az.env_set(ctx.recipe.params.resource_group, e.name)
        ctx.provide(SelectedEnvironment(ctx.recipe.params.resource_group, e.name))
        ctx.out.info(f"selected: environment {name}")
        return StepResult(self.kind, "done", f"environment {name} selected")


class Locate:
    """Select the account and environment the journal recorded for the service (nothing if it knows none)."""

    kind = "locate"
    contract = Contract(params=("service",), provides=(ServiceLocation,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        note = "where the journal recorded the service; skipped when it knows nothing"
        return [
            PlannedCall(azcli.account_set_argv("<RESOURCE_GROUP>", "<ACCOUNT>"), note=note),
            PlannedCall(azcli.env_set_argv("<RESOURCE_GROUP>", "<ENVIRONMENT>"), note=note),
        ]

    def run(self, ctx: Context) -> StepResult:
        name = ctx.recipe.params.service.name
        known = ctx.journal.location(name)
        if known is None:
            ctx.provide(ServiceLocation(None, None, None))
            ctx.out.detail(
                f"the journal does not know where service {name} was deployed: using the current environment"
            )
            return StepResult(self.kind, "done", "not in the journal: current account and environment")
        found = ServiceLocation(known.resource_group, known.account, known.environment)
        try:
            if known.account:
                ctx.az.account_set(known.resource_group, known.account)
            if known.environment:
                ctx.az.env_set(known.resource_group, known.environment)
        except CommandFailed as exc:
            raise MlopsError(
                f"the journal says service {name} was deployed in {found.describe()}, but selecting it failed "
                f"(was it deleted?):\n{exc}"
            ) from None
        ctx.provide(found)
        ctx.out.info(f"selected: {found.describe()}, where the journal recorded service {name}")
        return StepResult(self.kind, "done", f"selected {found.describe()}")
