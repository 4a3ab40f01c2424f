"""MMS manifests: a driver, models and assets bound to a runtime; validated at the door."""

from __future__ import annotations

from typing import Final

from ..engine import Engine
from ..errors import bad_request, not_found
from ..ids import new_guid, now_iso
from ..jsonvalue import JSON, JSONObject
from ..server import Request, Response, Route, route
from ..store import registry
from ..store.records import Asset, Manifest
from .common import MMS, bind, listed, scope_of
from .fields import as_object, opt_object, opt_str, req_str, str_list
from .models import check_url

RUNTIMES: Final = ("Python", "SparkPython")


def asset_json(a: Asset) -> JSON:
    out: dict[str, JSON] = {"id": a.id, "url": a.url}
    if a.mime_type is not None:
        out["mimeType"] = a.mime_type
    if a.unpack is not None:
        out["unpack"] = a.unpack
    return out


def manifest_json(m: Manifest) -> JSON:
    properties: dict[str, JSON] = {}
    if m.pip_requirements is not None:
        properties["pipRequirements"] = m.pip_requirements
    if m.conda_env_file is not None:
        properties["condaEnvFile"] = m.conda_env_file
    return {
        "id": m.id,
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "driverProgram": m.driver_program,
        "modelType": m.model_type,
        "modelIds": list(m.model_ids),
        "assets": [asset_json(a) for a in m.assets],
        "targetRuntime": {"runtimeType": m.runtime_type, "properties": properties},
        "createdTime": m.created_time,
        "webserviceType": "Realtime",
    }


def _assets(engine: Engine, value: JSON) -> tuple[Asset, ...]:
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise bad_request('\'assets\' must be a list of objects {"id", "url", "mimeType", "unpack"?}.')
    assets = []
    for item in value:
        asset = as_object(item, "An asset")
        asset_id = asset.get("id")
        if not isinstance(asset_id, str) or not asset_id:
            raise bad_request("Every asset needs a string 'id'.")
        url = check_url(engine, asset.get("url"), f"asset {asset_id}")
        unpack = asset.get("unpack")
        if unpack is not None and not isinstance(unpack, bool):
            raise bad_request(f"Asset {asset_id}: 'unpack' must be a boolean.")
        assets.append(Asset(asset_id, url, opt_str(asset, "mimeType"), unpack))
    if not any(a.id == "driver" for a in assets):
        raise bad_request("The manifest has no driver asset (an asset with id 'driver').")
    return tuple(assets)


def _runtime(engine: Engine, value: JSON) -> tuple[str, str | None, str | None]:
    """(runtimeType, pipRequirements url, condaEnvFile url)."""
    if not isinstance(value, dict):
        raise bad_request('\'targetRuntime\' must be an object {"runtimeType", "properties"}.')
    runtime = value.get("runtimeType")
    if not isinstance(runtime, str) or runtime not in RUNTIMES:
        raise bad_request(f"Unsupported runtimeType {runtime!r}; possible values: Python, SparkPython.")
    props: JSONObject = opt_object(value, "properties") or {}
    pip, conda = props.get("pipRequirements"), props.get("condaEnvFile")
    return (
        runtime,
        None if pip is None else check_url(engine, pip, "pipRequirements"),
        None if conda is None else check_url(engine, conda, "condaEnvFile"),
    )


def _create(engine: Engine, req: Request) -> Response:
    scope = scope_of(engine, req)
    body = req.json()
    name = req_str(body, "name")
    model_ids = str_list(body, "modelIds", "model ids")
    assets = _assets(engine, body.get("assets"))
    runtime, pip, conda = _runtime(engine, body.get("targetRuntime"))
    with engine.db.tx() as conn:
        for mid in model_ids:
            if registry.get_model(engine.db, mid, scope.key) is None:
                raise bad_request(f"Model with id {mid} not found in this account.")
        manifest = Manifest(
            id=new_guid(),
            account=scope.key,
            name=name,
            version=registry.next_version(conn, "manifests", scope.key, name),
            description=opt_str(body, "description"),
            driver_program=opt_str(body, "driverProgram") or "driver",
            model_type=opt_str(body, "modelType") or "Registered",
            model_ids=model_ids,
            assets=assets,
            runtime_type=runtime,
            pip_requirements=pip,
            conda_env_file=conda,
            created_time=now_iso(),
        )
        registry.insert_manifest(conn, manifest)
    return Response(200, manifest_json(manifest))


def _list(engine: Engine, req: Request) -> Response:
    manifests = registry.list_manifests(engine.db, scope_of(engine, req).key)
    name, model_id = req.query.get("manifestName"), req.query.get("modelId")
    return listed(
        [
            manifest_json(m)
            for m in manifests
            if (name is None or m.name == name) and (model_id is None or model_id in m.model_ids)
        ]
    )


def _show(engine: Engine, req: Request) -> Response:
    manifest = registry.get_manifest(engine.db, req.params["id"], scope_of(engine, req).key)
    if manifest is None:
        raise not_found("Manifest")
    return Response(200, manifest_json(manifest))


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", MMS + "/manifests", bind(engine, _create)),
        route("GET", MMS + "/manifests", bind(engine, _list)),
        route("GET", MMS + "/manifests/(?P<id>[^/]+)", bind(engine, _show)),
    ]
