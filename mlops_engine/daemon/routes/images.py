"""MMS images: POST starts a build operation (work/builds.py); GET shows an image with its full manifest."""

from __future__ import annotations

from ..engine import Engine
from ..errors import bad_request, not_found
from ..jsonvalue import JSON
from ..server import Request, Response, Route, route
from ..store import registry
from ..store.records import Image, Manifest
from ..work import builds
from .common import MMS, accepted, bind, error_json, listed, scope_of
from .fields import opt_str, req_str
from .manifests import manifest_json


def image_json(engine: Engine, i: Image, manifest: Manifest | None = None) -> JSON:
    """An image with its manifest (read from the store unless given)."""
    manifest = manifest or registry.get_manifest(engine.db, i.manifest_id)
    out: dict[str, JSON] = {
        "id": i.id,
        "name": i.name,
        "version": i.version,
        "description": i.description,
        "computeResourceId": i.compute_resource_id,
        "imageType": "Docker",
        "createdTime": i.created_time,
        "creationState": i.state,
        "manifest": manifest_json(manifest) if manifest else None,
        "imageLocation": f"local/{i.name}:{i.version}",
        "imageBuildLogUri": builds.build_log_uri(engine, i.id),
    }
    if i.error is not None:
        out["error"] = error_json(i.error)
    return out


def _create(engine: Engine, req: Request) -> Response:
    scope = scope_of(engine, req)
    body = req.json()
    request = builds.ImageCreate(
        name=req_str(body, "name"),
        manifest_id=req_str(body, "manifestId"),
        description=opt_str(body, "description"),
        compute_resource_id=opt_str(body, "computeResourceId"),
    )
    if body.get("imageType", "Docker") != "Docker":
        raise bad_request("Unsupported imageType; only Docker is supported.")
    op = builds.create(engine, scope, request)
    return accepted(engine, scope, op.id)


def _list(engine: Engine, req: Request) -> Response:
    images = registry.list_images(engine.db, scope_of(engine, req).key)
    manifests = {m.id: m for m in registry.list_manifests(engine.db, scope_of(engine, req).key)}
    by_id, by_name = req.query.get("manifestId"), req.query.get("manifestName")
    out = []
    for image in images:
        manifest = manifests.get(image.manifest_id)
        if by_id is not None and image.manifest_id != by_id:
            continue
        if by_name is not None and (manifest is None or manifest.name != by_name):
            continue
        out.append(image_json(engine, image, manifest))
    return listed(out)


def _show(engine: Engine, req: Request) -> Response:
    image = registry.get_image(engine.db, req.params["id"], scope_of(engine, req).key)
    if image is None:
        raise not_found("Image")
    return Response(200, image_json(engine, image))


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", MMS + "/images", bind(engine, _create)),
        route("GET", MMS + "/images", bind(engine, _list)),
        route("GET", MMS + "/images/(?P<id>[^/]+)", bind(engine, _show)),
    ]
