"""Every `az ml` call the orchestrator makes (convention 5).

Argv tails are built from literal strings in the `*_argv` functions, so `grep '"image", "create"'`
finds every call site; `Az` runs them through the `Runner` under the retry policies of `retry.py` and
parses stdout with the pure functions of `azparse.py`. Errors become `CommandFailed` with the CLI's
own message and a category from `azerrors.classify`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from orchestrator import azparse as p
from orchestrator.azerrors import AzError, classify, parse_az_error
from orchestrator.errors import CommandFailed, ProvisioningFailed, ProvisioningTimeout
from orchestrator.retry import TRANSIENT_AZ, TRANSIENT_AZ_WRITE, Clock, Policy, Sleep
from orchestrator.runner import CommandResult, Runner

Argv = tuple[str, ...]
SHOW_TIMEOUT_S: Final = 120.0
WRITE_TIMEOUT_S: Final = 300.0
OPERATION_TIMEOUT_S: Final = 30 * 60.0  # the CLI itself gives up polling after ~10 minutes


# --- argv builders (pure; also used by --dry-run) ------------------------------------------------


def account_show_argv(rg: str, name: str) -> Argv:
    return ("ml", "account", "modelmanagement", "show", "-g", rg, "-n", name, "-o", "json")


def account_create_argv(rg: str, name: str, location: str, sku_name: str, sku_instances: int) -> Argv:
    return (
        "ml", "account", "modelmanagement", "create", "-l", location, "-n", name, "-g", rg,
        "--sku-name", sku_name, "--sku-instances", str(sku_instances),
    )  # fmt: skip


def account_set_argv(rg: str, name: str) -> Argv:
    return ("ml", "account", "modelmanagement", "set", "-n", name, "-g", rg)


def env_show_argv(rg: str, name: str) -> Argv:
    return ("ml", "env", "show", "-g", rg, "-n", name, "-o", "json")


def env_setup_argv(rg: str, name: str, location: str, cluster: bool) -> Argv:
    mode: Argv = ("-c",) if cluster else ()
    return ("ml", "env", "setup", *mode, "-n", name, "-l", location, "-g", rg, "-y")


def env_set_argv(rg: str, name: str) -> Argv:
    return ("ml", "env", "set", "-n", name, "-g", rg)


def model_register_argv(model_file: str, name: str, description: str, tag: str) -> Argv:
    return ("ml", "model", "register", "-m", model_file, "-n", name, "-t", tag, "-d", description)


def model_show_argv(model: str, tag: str | None = None) -> Argv:
    extra: Argv = ("-t", tag) if tag else ()
    return ("ml", "model", "show", "-m", model, *extra, "-o", "json")


def manifest_create_argv(name: str, model_id: str, driver: str, runtime: str, schema: str | None) -> Argv:
    extra: Argv = ("-s", schema) if schema else ()
    return ("ml", "manifest", "create", "-n", name, "-i", model_id, "-r", runtime, "-f", driver, *extra)


def manifest_show_argv(manifest_id: str) -> Argv:
    return ("ml", "manifest", "show", "-i", manifest_id, "-o", "json")


def manifest_list_argv() -> Argv:
    return ("ml", "manifest", "list", "-o", "json")


def image_create_argv(name: str, manifest_id: str) -> Argv:
    return ("ml", "image", "create", "-n", name, "--manifest-id", manifest_id)


def image_show_argv(image_id: str) -> Argv:
    return ("ml", "image", "show", "-i", image_id, "-o", "json")


def image_list_argv() -> Argv:
    return ("ml", "image", "list", "-o", "json")


def service_show_name_argv(name: str) -> Argv:
    return ("ml", "service", "show", "realtime", "-n", name, "-o", "json")


def service_show_argv(service_id: str, verbose: bool = False) -> Argv:
    extra: Argv = ("-v",) if verbose else ()
    return ("ml", "service", "show", "realtime", "-i", service_id, *extra, "-o", "json")


def service_create_argv(name: str, image_id: str, replicas: int | None) -> Argv:
    extra: Argv = ("-z", str(replicas)) if replicas is not None else ()
    return ("ml", "service", "create", "realtime", "-n", name, "--image-id", image_id, *extra)


def service_update_argv(service_id: str, image_id: str) -> Argv:
    return ("ml", "service", "update", "realtime", "-i", service_id, "--image-id", image_id)


def service_run_argv(service_id: str, data: str) -> Argv:
    return ("ml", "service", "run", "realtime", "-i", service_id, "-d", data)


def command_name(tail: Sequence[str]) -> str:
    """`az ml image create` for an argv tail (the words before the first flag)."""
    words: list[str] = []
    for word in tail:
        if word.startswith("-"):
            break
        words.append(word)
    return "az " + " ".join(words)


def describe_error(err: AzError) -> str:
    return "; ".join([err.message, *err.details]) if err.details else err.message


# --- the client ---------------------------------------------------------------------------------


class Az:
    """Runs `az ml` commands through a Runner; `prefix` is the executable (`az` or `python -m mlops_engine`)."""

    def __init__(
        self,
        runner: Runner,
        prefix: Sequence[str],
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        jitter: bool = True,
    ) -> None:
        self.runner = runner
        self.prefix = tuple(prefix)
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    def call(self, tail: Argv, *, write: bool, timeout: float, cwd: Path | None = None) -> CommandResult:
        """Run one az command under TRANSIENT_AZ (reads) or TRANSIENT_AZ_WRITE (writes)."""
        argv = (*self.prefix, *tail)

        def once() -> CommandResult:
            try:
                return self.runner.run(argv, timeout=timeout, cwd=cwd)
            except CommandFailed as exc:
                text = exc.result.stderr or exc.result.stdout
                err = parse_az_error(text)
                raise CommandFailed(
                    exc.result, f"{command_name(tail)}: {describe_error(err)}", classify(text)
                ) from None

        policy: Policy = TRANSIENT_AZ_WRITE if write else TRANSIENT_AZ
        return policy.call(once, sleep=self._sleep, clock=self._clock, jitter=self._jitter)

    def _show(self, tail: Argv) -> CommandResult | None:
        """A read that returns None when the CLI says the resource does not exist."""
        try:
            return self.call(tail, write=False, timeout=SHOW_TIMEOUT_S)
        except CommandFailed as exc:
            if exc.category == "not_found":
                return None
            raise

    def _operation(self, tail: Argv, what: str) -> CommandResult:
        """An az command that polls an async operation (image build, service deployment)."""
        try:
            return self.call(tail, write=True, timeout=OPERATION_TIMEOUT_S)
        except CommandFailed as exc:
            err = parse_az_error(exc.result.stderr)
            if exc.category == "operation_failed":
                raise ProvisioningFailed(what, "Failed", (err.message, *err.details)) from None
            if exc.category == "operation_timeout":
                raise ProvisioningTimeout(what, "Running", 600.0) from None
            raise

    # accounts and environments
    def account_show(self, rg: str, name: str) -> p.Account | None:
        tail = account_show_argv(rg, name)
        result = self._show(tail)
        return p.parse_account(command_name(tail), result.stdout) if result else None

    def account_create(
        self, rg: str, name: str, location: str, sku_name: str, sku_instances: int
    ) -> p.Account:
        tail = account_create_argv(rg, name, location, sku_name, sku_instances)
        return p.parse_account(
            command_name(tail), self.call(tail, write=True, timeout=WRITE_TIMEOUT_S).stdout
        )

    def account_set(self, rg: str, name: str) -> p.Account:
        tail = account_set_argv(rg, name)
        return p.parse_account(
            command_name(tail), self.call(tail, write=True, timeout=WRITE_TIMEOUT_S).stdout
        )

    def env_show(self, rg: str, name: str) -> p.Environment | None:
        tail = env_show_argv(rg, name)
        result = self._show(tail)
        return p.parse_env(command_name(tail), result.stdout) if result else None

    def env_setup(self, rg: str, name: str, location: str, cluster: bool) -> None:
        tail = env_setup_argv(rg, name, location, cluster)
        p.parse_env_setup(command_name(tail), self.call(tail, write=True, timeout=WRITE_TIMEOUT_S).stdout)

    def env_set(self, rg: str, name: str) -> str:
        tail = env_set_argv(rg, name)
        return p.parse_env_set(
            command_name(tail), self.call(tail, write=True, timeout=WRITE_TIMEOUT_S).stdout
        )

    # models, manifests, images
    def model_register(self, model_file: str, name: str, description: str, tag: str, cwd: Path) -> str:
        tail = model_register_argv(model_file, name, description, tag)
        result = self.call(tail, write=True, timeout=WRITE_TIMEOUT_S, cwd=cwd)
        return p.parse_created_id(command_name(tail), result.stdout)

    def model_show(self, model_id: str) -> p.Model | None:
        tail = model_show_argv(model_id)
        result = self._show(tail)
        return p.parse_model(command_name(tail), result.stdout) if result else None

    def models_tagged(self, name: str, tag: str) -> tuple[p.Model, ...]:
        """All versions of a model name carrying a tag (a list; empty when none)."""
        tail = model_show_argv(name, tag)
        result = self._show(tail)
        return p.parse_models(command_name(tail), result.stdout) if result else ()

    def manifest_create(
        self, name: str, model_id: str, driver: str, runtime: str, schema: str | None, cwd: Path
    ) -> str:
        tail = manifest_create_argv(name, model_id, driver, runtime, schema)
        result = self.call(tail, write=True, timeout=WRITE_TIMEOUT_S, cwd=cwd)
        return p.parse_created_id(command_name(tail), result.stdout)

    def manifest_show(self, manifest_id: str) -> p.Manifest | None:
        tail = manifest_show_argv(manifest_id)
        result = self._show(tail)
        return p.parse_manifest(command_name(tail), result.stdout) if result else None

    def manifest_list(self) -> tuple[p.Manifest, ...]:
        tail = manifest_list_argv()
        result = self.call(tail, write=False, timeout=SHOW_TIMEOUT_S)
        return p.parse_manifests(command_name(tail), result.stdout)

    def image_create(self, name: str, manifest_id: str) -> str:
        tail = image_create_argv(name, manifest_id)
        return p.parse_image_created(command_name(tail), self._operation(tail, f"image {name}").stdout)

    def image_show(self, image_id: str) -> p.Image | None:
        tail = image_show_argv(image_id)
        result = self._show(tail)
        return p.parse_image(command_name(tail), result.stdout) if result else None

    def image_list(self) -> tuple[p.Image, ...]:
        tail = image_list_argv()
        result = self.call(tail, write=False, timeout=SHOW_TIMEOUT_S)
        return p.parse_images(command_name(tail), result.stdout)

    # services
    def service_find(self, name: str) -> p.Service | None:
        tail = service_show_name_argv(name)
        result = self._show(tail)
        found = p.parse_services(command_name(tail), result.stdout) if result else ()
        matches = [s for s in found if s.name == name]
        return matches[0] if matches else None

    def service_show(self, service_id: str, verbose: bool = False) -> p.Service | None:
        tail = service_show_argv(service_id, verbose)
        result = self._show(tail)
        found = p.parse_services(command_name(tail), result.stdout) if result else ()
        return found[0] if found else None

    def service_create(self, name: str, image_id: str, replicas: int | None) -> p.Deployed:
        tail = service_create_argv(name, image_id, replicas)
        return p.parse_deployed(command_name(tail), self._operation(tail, f"service {name}").stdout)

    def service_update(self, service_id: str, image_id: str) -> p.Deployed:
        tail = service_update_argv(service_id, image_id)
        return p.parse_deployed(
            command_name(tail), self._operation(tail, f"update of service {service_id}").stdout
        )

    def service_run(self, service_id: str, data: str) -> str:
        tail = service_run_argv(service_id, data)
        return p.parse_score(command_name(tail), self.call(tail, write=False, timeout=SHOW_TIMEOUT_S).stdout)
