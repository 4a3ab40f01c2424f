"""MMS images: POST starts a build operation; the bundle is produced by builder.py."""

from __future__ import annotations

import json
import logging
from typing import Any

from . import builder, manifests, operations
from .common import Response, bad_request, guid, not_found, now_iso, require_str
from .engine import MMS_BASE, Account, Engine
from .models import list_body, next_version
from .server import Request, Route, route

log = logging.getLogger(__name__)

BUILD_FAILED = "Image creation failed due to an error building the docker image."


def build_error(log_uri: str) -> dict[str, Any]:
    """The operation/image error of a failed build (the CLI shows details[0].message as "Log Information")."""
    return {
        "code": "BadRequest",
        "statusCode": 400,
        "message": BUILD_FAILED,
        "details": [{"code": "DockerBuildError", "message": log_uri}],
    }


def load(engine: Engine, account: Account, image_id: str) -> dict[str, Any] | None:
    row = engine.db.one("SELECT doc FROM images WHERE id = ? AND account = ?", (image_id, account.key))
    return json.loads(row[0]) if row else None


def _set(engine: Engine, image_id: str, **changes: Any) -> None:
    with engine.db.tx() as conn:
        row = conn.execute("SELECT doc FROM images WHERE id = ?", (image_id,)).fetchone()
        doc = json.loads(row[0])
        doc.update(changes)
        conn.execute("UPDATE images SET doc = ? WHERE id = ?", (json.dumps(doc), image_id))


def _create(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    body = req.json()
    name = require_str(body, "name")
    manifest_id = require_str(body, "manifestId")
    manifest = manifests.load(engine, account, manifest_id)
    if manifest is None:
        raise bad_request(f"Manifest with id {manifest_id} not found.")
    if body.get("imageType", "Docker") != "Docker":
        raise bad_request("Unsupported imageType; only Docker is supported.")
    image_id = guid()
    log_uri = (engine.paths.images / image_id / "build.log").as_uri()
    with engine.db.tx() as conn:
        version = next_version(conn, "images", account.key, name)
        doc = {
            "id": image_id,
            "name": name,
            "version": version,
            "description": body.get("description"),
            "computeResourceId": body.get("computeResourceId"),
            "imageType": "Docker",
            "createdTime": now_iso(),
            "creationState": "NotStarted",
            "manifest": manifest,
            "imageLocation": f"local/{name}:{version}",
            "imageBuildLogUri": log_uri,
        }
        conn.execute(
            "INSERT INTO images (id, account, name, version, doc) VALUES (?, ?, ?, ?, ?)",
            (image_id, account.key, name, version, json.dumps(doc)),
        )
        op_id = operations.create(engine, account, "Image", f"images/{image_id}", conn)
    models = []
    for mid in manifest["modelIds"]:
        row = engine.db.one("SELECT doc FROM models WHERE id = ?", (mid,))
        if row:
            models.append(json.loads(row[0]))

    def _build() -> None:
        _set(engine, image_id, creationState="Running")
        try:
            builder.build(engine, doc, models)
        except builder.BuildFailed as failed:
            log.info("image %s failed: %s", image_id, failed)
            raise operations.OperationFailed(build_error(log_uri)) from failed
        _set(engine, image_id, creationState="Succeeded")

    def _on_error(error: dict[str, Any]) -> None:
        _set(engine, image_id, creationState="Failed", error=error)

    operations.run(engine, op_id, _build, _on_error)
    return Response(202, {}, headers=[operations.location(engine, account, op_id)])


def recover(engine: Engine) -> None:
    """Images whose build was interrupted by a crash are Failed (their staging dir was discarded)."""
    for image_id, raw in engine.db.all("SELECT id, doc FROM images"):
        doc = json.loads(raw)
        if doc["creationState"] in ("NotStarted", "Running"):
            _set(
                engine,
                image_id,
                creationState="Failed",
                error={
                    "code": "InternalServerError",
                    "statusCode": 500,
                    "message": "The daemon stopped during the image build; create the image again.",
                    "details": [{"code": "DaemonRestarted", "message": doc["imageBuildLogUri"]}],
                },
            )


def _list(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    docs = [
        r[0] for r in engine.db.all("SELECT doc FROM images WHERE account = ? ORDER BY seq", (account.key,))
    ]
    if "manifestId" in req.query:
        docs = [d for d in docs if json.loads(d)["manifest"]["id"] == req.query["manifestId"]]
    if "manifestName" in req.query:
        docs = [d for d in docs if json.loads(d)["manifest"]["name"] == req.query["manifestName"]]
    return Response(200, raw=list_body(docs))


def _show(engine: Engine, req: Request) -> Response:
    account = engine.account(req.params)
    doc = load(engine, account, req.params["id"])
    if doc is None:
        raise not_found("Image")
    return Response(200, doc)


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", MMS_BASE + "/images", lambda req: _create(engine, req)),
        route("GET", MMS_BASE + "/images", lambda req: _list(engine, req)),
        route("GET", MMS_BASE + "/images/(?P<id>[^/]+)", lambda req: _show(engine, req)),
    ]
