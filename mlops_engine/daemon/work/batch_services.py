"""Batch services: create or replace one (its driver and dependencies unpacked into a new app folder), delete one.

A replaced service keeps its earlier app folders until it is deleted, so jobs submitted before the replace still
run what they were submitted with. Deleting a service cancels its jobs and removes them with their folders (the
outputs, written where each job was told to, stay); a published service must be unpublished first.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ...batch import BatchError, settings_from_mapping
from ...batch.entry import check_entry_script
from ..engine import Engine
from ..errors import ApiError, bad_request, conflict
from ..ids import arm_time
from ..store import batch_jobs, batch_services, pipelines
from ..store.batch_records import BatchAsset, BatchParameter, BatchService, Contract
from ..store.files import remove_tree
from .batch_specs import DRIVER, check_reference, is_setting

NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ServiceCreate:
    """A parsed PUT /v1/webservices/{name}."""

    name: str
    title: str
    contract: Contract
    driver_name: str
    driver_uri: str
    assets: tuple[BatchAsset, ...]
    parameters: tuple[BatchParameter, ...]
    settings: Mapping[str, str]
    dask_scheduler: str | None


def check_name(name: str, what: str = "web service") -> None:
    if not NAME.match(name):
        raise bad_request(
            f"Invalid {what} name '{name}': use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
        )


def services_root(engine: Engine) -> Path:
    return engine.paths.home / "batch" / "services"


def not_found(name: str) -> ApiError:
    return ApiError(404, "NotFound", f"Web service '{name}' not found.")


def _check_parameters(request: ServiceCreate) -> None:
    seen: set[str] = set()
    for p in request.parameters:
        if p.id in seen:
            raise bad_request(f"Parameter '{p.id}' is declared twice; declare each parameter once.")
        seen.add(p.id)
        if p.kind == "Reference" and p.default:
            try:
                check_reference(p, p.default)
            except BatchError as exc:
                raise bad_request(str(exc)) from None
    if request.contract != "parallel":
        return
    outputs = [p.id for p in request.parameters if p.kind == "Reference" and p.direction == "Output"]
    inputs = [p.id for p in request.parameters if p.kind == "Reference" and p.direction == "Input"]
    if len(outputs) != 1 or not inputs:
        raise bad_request(
            "A parallel batch service takes its input files or folders from --in parameters (at least one) and "
            f"writes under the folder of exactly one --out parameter; got {len(inputs)} --in and "
            f"{len(outputs)} --out."
        )
    defaults = {p.id: p.default for p in request.parameters if p.id in _setting_ids(request) and p.default}
    try:
        settings_from_mapping(defaults, settings_from_mapping(request.settings))
    except BatchError as exc:
        raise bad_request(str(exc)) from None


def _setting_ids(request: ServiceCreate) -> set[str]:
    probe = BatchService(request.name, "", request.contract, "", "", "", (), (), {}, None, "", "")
    return {p.id for p in request.parameters if p.kind == "Value" and is_setting(probe, p.id)}


def _unpack(engine: Engine, request: ServiceCreate, app: Path) -> None:
    """The driver as main.py, then every dependency archive, into `app` (400 naming what is wrong)."""
    ids = [a.id for a in request.assets]
    if DRIVER in ids or len(set(ids)) != len(ids):
        raise bad_request(
            f"Dependency names must be unique and not '{DRIVER}' (the driver's name in the service)."
        )
    try:
        shutil.copyfile(engine.artifacts.resolve_url(request.driver_uri), app / DRIVER)
        for asset in request.assets:
            with tarfile.open(engine.artifacts.resolve_url(asset.uri), "r:*") as archive:
                archive.extractall(app, filter="data")
            if not (app / asset.id).exists():
                raise bad_request(f"Dependency archive {asset.uri} does not contain '{asset.id}'.")
    except (ValueError, tarfile.TarError, OSError) as exc:
        raise bad_request(f"Cannot unpack the service's files: {exc}") from None
    if request.contract == "parallel":
        try:
            check_entry_script(str(app / DRIVER))
        except BatchError as exc:
            raise bad_request(f"{request.driver_name}: {exc}") from None


def create_or_replace(engine: Engine, request: ServiceCreate) -> tuple[BatchService, bool]:
    """Store the service (a new app folder); (service, created) — False when an existing one was replaced."""
    check_name(request.name)
    _check_parameters(request)
    staging = Path(tempfile.mkdtemp(prefix="batch-", dir=engine.paths.tmp))
    try:
        app = staging / "app"
        app.mkdir()
        _unpack(engine, request, app)
        target = services_root(engine) / request.name / uuid.uuid4().hex
        target.parent.mkdir(parents=True, exist_ok=True)
        app.rename(target)
    finally:
        remove_tree(staging)
    now = arm_time()
    previous = batch_services.get(engine.db, request.name)
    service = BatchService(
        request.name,
        request.title,
        request.contract,
        str(target),
        request.driver_name,
        request.driver_uri,
        request.assets,
        request.parameters,
        dict(request.settings),
        request.dask_scheduler,
        previous.created if previous else now,
        now,
    )
    with engine.db.tx() as conn:
        batch_services.put(conn, service)
    return service, previous is None


def check_deletable(engine: Engine, name: str) -> BatchService:
    service = batch_services.get(engine.db, name)
    if service is None:
        raise not_found(name)
    published = pipelines.all_pipelines(engine.db, name)
    if published:
        ids = ", ".join(p.id for p in published)
        raise conflict(
            f"Web service '{name}' is published as pipeline {ids}; delete it first "
            f"(az ml pipeline delete --id <id>), then delete the service."
        )
    return service


def remove(engine: Engine, name: str) -> None:
    """Forget the service and its (ended) jobs, and remove their folders."""
    jobs = batch_jobs.of_service(engine.db, name)
    with engine.db.tx() as conn:
        batch_jobs.delete_of_service(conn, name)
        batch_services.delete(conn, name)
    for job in jobs:
        remove_tree(Path(job.job_dir))
    remove_tree(services_root(engine) / name)
