"""Image creation: record the image, then build its bundle in an operation."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Final

from ..engine import AccountScope, Engine
from ..errors import ApiError, ErrorDetail, ErrorInfo, bad_request, internal_error
from ..ids import new_guid, now_iso
from ..storage import insufficient_storage, is_full
from ..store import registry
from ..store.records import Image, Operation
from . import operations
from .builder import Builder, BuildFailed, BuildRequest

log = logging.getLogger(__name__)

BUILD_FAILED: Final = "Image creation failed due to an error building the docker image."


@dataclass(frozen=True)
class ImageCreate:
    """A parsed POST /images."""

    name: str
    manifest_id: str
    description: str | None
    compute_resource_id: str | None


def build_log_uri(engine: Engine, image_id: str) -> str:
    return (engine.paths.images / image_id / "build.log").as_uri()


def build_error(log_uri: str) -> ErrorInfo:
    """The operation/image error of a failed build (the CLI shows details[0].message as "Log Information")."""
    return ErrorInfo(400, "BadRequest", BUILD_FAILED, (ErrorDetail("DockerBuildError", log_uri),))


def create(engine: Engine, scope: AccountScope, request: ImageCreate) -> Operation:
    """Insert the image (NotStarted) and its operation, and start the build; returns the operation."""
    manifest = registry.get_manifest(engine.db, request.manifest_id, scope.key)
    if manifest is None:
        raise bad_request(f"Manifest with id {request.manifest_id} not found.")
    with engine.db.tx() as conn:
        image = Image(
            id=new_guid(),
            account=scope.key,
            name=request.name,
            version=registry.next_version(conn, "images", scope.key, request.name),
            description=request.description,
            compute_resource_id=request.compute_resource_id,
            created_time=now_iso(),
            state="NotStarted",
            manifest_id=manifest.id,
        )
        registry.insert_image(conn, image)
        op = operations.new(conn, scope, "Image", f"images/{image.id}")
    build = BuildRequest(image, manifest, tuple(registry.models_by_id(engine.db, manifest.model_ids)))
    builder = Builder(engine.paths, engine.artifacts, engine.python)

    def _build() -> None:
        registry.set_image_state(engine.db, image.id, "Running")
        try:
            builder.build(build)
        except BuildFailed as failed:
            log.info("image %s failed: %s", image.id, failed)
            raise ApiError.of(build_error(build_log_uri(engine, image.id))) from failed
        except (OSError, sqlite3.Error) as exc:
            if not is_full(exc):
                raise
            log.error("image %s failed: %s", image.id, exc)
            doing = f"building image {image.name}:{image.version}"
            raise insufficient_storage(doing, engine.paths.home) from exc
        registry.set_image_state(engine.db, image.id, "Succeeded")

    def _on_error(error: ErrorInfo) -> None:
        registry.set_image_state(engine.db, image.id, "Failed", error)

    operations.run(engine, op.id, _build, _on_error)
    return op


def recover(engine: Engine) -> None:
    """Images whose build was interrupted by a crash are Failed (their staging dir was discarded)."""
    for image in registry.unfinished_images(engine.db):
        error = internal_error(
            "The daemon stopped during the image build; create the image again.",
            "DaemonRestarted",
            build_log_uri(engine, image.id),
        )
        registry.set_image_state(engine.db, image.id, "Failed", error)
