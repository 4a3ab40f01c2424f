"""MMS models: register (version per name), list, show."""

from __future__ import annotations

import json

from ..engine import Engine
from ..errors import bad_request, not_found
from ..ids import new_model_id, now_iso
from ..jsonvalue import JSON
from ..server import Request, Response, Route, route
from ..store import registry
from ..store.records import Model
from . import limits
from .common import MMS, bind, listed, scope_of
from .fields import opt_str, req_str, str_list


def model_json(m: Model) -> JSON:
    return {
        "id": m.id,
        "name": m.name,
        "version": m.version,
        "tags": list(m.tags),
        "description": m.description,
        "url": m.url,
        "mimeType": m.mime_type,
        "unpack": m.unpack,
        "createdAt": m.created_at,
    }


def check_url(engine: Engine, url: JSON, what: str) -> str:
    """An `artifact://sha256/...` url of an uploaded artifact (400 otherwise)."""
    if not isinstance(url, str):
        raise bad_request(f"Missing or invalid url for {what}.")
    try:
        engine.artifacts.resolve_url(url)
    except ValueError as exc:
        raise bad_request(f"Invalid url for {what}: {exc}") from exc
    return url


def _register(engine: Engine, req: Request) -> Response:
    scope = scope_of(engine, req)
    body = req.json()
    name = req_str(body, "name")
    limits.model_name(name)
    tags = str_list(body, "tags")
    url = check_url(engine, body.get("url"), f"model {name}")
    unpack = body.get("unpack", False)
    if not isinstance(unpack, bool):
        raise bad_request("'unpack' must be a boolean.")
    description = opt_str(body, "description")
    mime_type = opt_str(body, "mimeType") or "application/octet-stream"
    with engine.db.tx() as conn:
        version = registry.next_version(conn, "models", scope.key, name)
        model = Model(
            new_model_id(), scope.key, name, version, tags, description, url, mime_type, unpack, now_iso()
        )
        registry.insert_model(conn, model)
    return Response(200, model_json(model))


def _list(engine: Engine, req: Request) -> Response:
    scope = scope_of(engine, req)
    name, tag = req.query.get("name"), req.query.get("tag")
    if tag is not None:
        return listed(
            [model_json(m) for m in registry.list_models(engine.db, scope.key, name) if tag in m.tags]
        )
    # Models are immutable: their rendered text is reused (rendercache.py); the body is what
    # json.dumps({"value": [...]}) gives, byte for byte.
    ids = registry.model_ids(engine.db, scope.key, name)
    texts = engine.model_texts.get_many(ids)
    if len(texts) < len(ids):
        for model in registry.list_models(engine.db, scope.key, name):
            if model.id not in texts:
                texts[model.id] = json.dumps(model_json(model))
                engine.model_texts.put(model.id, texts[model.id])
    return Response(200, raw=('{"value": [' + ", ".join(texts[i] for i in ids if i in texts) + "]}").encode())


def _show(engine: Engine, req: Request) -> Response:
    model = registry.get_model(engine.db, req.params["id"], scope_of(engine, req).key)
    if model is None:
        raise not_found("Model")
    return Response(200, model_json(model))


def routes(engine: Engine) -> list[Route]:
    return [
        route("POST", MMS + "/models", bind(engine, _register)),
        route("GET", MMS + "/models", bind(engine, _list)),
        route("GET", MMS + "/models/(?P<id>[^/]+)", bind(engine, _show)),
    ]
