"""MMS services: request parsing, the Service object, and the routes; the work is in work/deployments.py."""

from __future__ import annotations

from ..engine import Engine
from ..errors import bad_request, not_found
from ..jsonvalue import JSON, JSONObject
from ..server import Request, Response, Route, route
from ..store import registry
from ..store import services as store
from ..store.records import AutoScaler, DataCollection, Reservation, Service, ServiceMode
from ..store.records import scope_key as env_key_of
from ..work import deployments, replica_logs
from ..work.settings import SettingsPatch
from . import limits
from .common import MMS, accepted, bind, error_json, listed, scope_of
from .fields import opt_bool, opt_int, opt_object, opt_str, req_str
from .images import image_json
from .models import model_json


def service_json(engine: Engine, s: Service) -> JSON:
    """The Service object (legacy 9.1 fields) plus the engine's live fields (port, swagger, replicas)."""
    image = registry.get_image(engine.db, s.image_id)
    manifest = registry.get_manifest(engine.db, image.manifest_id) if image else None
    models = registry.models_by_id(engine.db, manifest.model_ids) if manifest else []
    st = s.settings
    scaler = {
        k: v
        for k, v in (
            ("autoscaleEnabled", st.autoscaler.enabled),
            ("minReplicas", st.autoscaler.min_replicas),
            ("maxReplicas", st.autoscaler.max_replicas),
            ("targetUtilization", st.autoscaler.target_utilization),
            ("refreshPeriodInSeconds", st.autoscaler.refresh_period_seconds),
        )
        if v is not None
    }
    reservation = {
        k: v for k, v in (("cpu", st.reservation.cpu), ("memory", st.reservation.memory)) if v is not None
    }
    uri = s.scoring_uri()
    try:
        status = engine.supervisor.status(s.id)
    except Exception:  # noqa: BLE001 - a supervisor fault must not break reads
        status = None
    return {
        "id": s.id,
        "name": s.name,
        "state": s.state,
        "createdAt": s.created_at,
        "updatedAt": s.updated_at,
        "image": image_json(engine, image, manifest) if image else None,
        "models": [model_json(m) for m in models],
        "computeResource": {"id": s.compute_id, "type": "Cluster" if s.mode == "cluster" else "Local"},
        "numReplicas": st.num_replicas,
        "appInsightsEnabled": st.app_insights_enabled,
        "dataCollection": {
            "storageEnabled": st.data_collection.storage_enabled,
            "eventHubEnabled": st.data_collection.event_hub_enabled,
        },
        "autoScaler": scaler,
        "containerResourceReservation": reservation,
        "maxConcurrentRequestsPerContainer": st.max_concurrent_requests,
        "error": error_json(s.error) if s.error else None,
        "scoringUri": uri,
        "swaggerUri": uri.rsplit("/", 1)[0] + "/swagger.json" if uri else None,
        "port": s.port,
        "replicas": [
            {"pid": r.pid, "state": r.state, "restarts": r.restarts, "imageId": r.image_id}
            for r in (status.replicas if status else [])
        ],
        "liveImageId": status.live_image_id if status else None,
    }


def parse_settings(body: JSONObject) -> SettingsPatch:
    """The updatable settings a create or update body gives, validated (MMS limits, reference 9.1)."""
    limits.service_settings(body)
    data, scaler, reservation = (
        opt_object(body, "dataCollection"),
        opt_object(body, "autoScaler"),
        opt_object(body, "containerResourceReservation"),
    )
    return SettingsPatch(
        num_replicas=opt_int(body, "numReplicas", minimum=1),
        app_insights_enabled=opt_bool(body, "appInsightsEnabled"),
        data_collection=None
        if data is None
        else DataCollection(bool(opt_bool(data, "storageEnabled")), bool(opt_bool(data, "eventHubEnabled"))),
        autoscaler=None
        if scaler is None
        else AutoScaler(
            enabled=opt_bool(scaler, "autoscaleEnabled"),
            min_replicas=opt_int(scaler, "minReplicas", minimum=0),
            max_replicas=opt_int(scaler, "maxReplicas", minimum=1),
            target_utilization=opt_int(scaler, "targetUtilization", minimum=0),
            refresh_period_seconds=opt_int(scaler, "refreshPeriodInSeconds", minimum=1),
        ),
        reservation=None
        if reservation is None
        else Reservation(opt_str(reservation, "cpu"), opt_str(reservation, "memory")),
        max_concurrent_requests=opt_int(body, "maxConcurrentRequestsPerContainer", minimum=1),
        max_concurrent_given="maxConcurrentRequestsPerContainer" in body,
    )


def parse_create(body: JSONObject) -> deployments.ServiceCreate:
    name = req_str(body, "name")
    limits.service_name(name)
    image_id = body.get("imageId")
    if not isinstance(image_id, str) or not image_id:
        raise bad_request("Missing or invalid field 'imageId'.")
    compute = opt_object(body, "computeResource")
    compute_id = compute.get("id") if compute else None
    if compute is None or not isinstance(compute_id, str):
        raise bad_request(
            'Missing or invalid field \'computeResource\': {"id", "type": "Cluster"|"Local"} is required.'
        )
    ctype = str(compute.get("type") or "Cluster")
    if ctype not in ("Cluster", "Local"):
        raise bad_request(f"Invalid computeResource.type {ctype!r}; possible values: Cluster, Local.")
    parts = compute_id.strip("/").split("/")
    if len(parts) < 8 or parts[2].lower() != "resourcegroups":
        raise bad_request(f"Invalid compute resource id {compute_id!r}.")
    mode: ServiceMode = "cluster" if ctype == "Cluster" else "local"
    return deployments.ServiceCreate(
        name, image_id, compute_id, env_key_of(parts[3], parts[-1]), mode, parse_settings(body)
    )


def _create(engine: Engine, req: Request) -> Response:
    scope = scope_of(engine, req)
    op = deployments.create(engine, scope, parse_create(req.json()))
    return accepted(engine, scope, op.id)


def _require(engine: Engine, req: Request) -> Service:
    service = store.get(engine.db, req.params["id"], scope_of(engine, req).key)
    if service is None:
        raise not_found("Service")
    return service


def _show(engine: Engine, req: Request) -> Response:
    return Response(200, service_json(engine, _require(engine, req)))


def _update(engine: Engine, req: Request) -> Response:
    scope = scope_of(engine, req)
    service = _require(engine, req)
    body = req.json()
    image_id = body.get("imageId", service.image_id)
    if not isinstance(image_id, str) or not image_id:
        raise bad_request("Missing or invalid field 'imageId'.")
    op = deployments.update(engine, scope, service, image_id, parse_settings(body))
    return accepted(engine, scope, op.id)


def _delete(engine: Engine, req: Request) -> Response:
    service = store.get(engine.db, req.params["id"], scope_of(engine, req).key)
    if service is None:
        return Response(204)
    deployments.delete(engine, service)
    return Response(200, {})


def _list(engine: Engine, req: Request) -> Response:
    services = store.visible_to(engine.db, scope_of(engine, req).key)
    name, ctype, image_id = (
        req.query.get("serviceName"),
        req.query.get("computeType"),
        req.query.get("imageId"),
    )
    if name is not None:
        services = [s for s in services if s.name == name]
    if ctype is not None:
        mode = "cluster" if ctype.lower() == "cluster" else "local" if ctype.lower() == "local" else None
        services = [s for s in services if s.mode == mode]
    if image_id is not None:
        services = [s for s in services if s.image_id == image_id]
    return listed([service_json(engine, s) for s in services])


def _cluster_only(service: Service) -> None:
    if service.mode != "cluster":
        raise bad_request("Key operations not supported for local services")


def _keys(engine: Engine, req: Request) -> Response:
    service = _require(engine, req)
    _cluster_only(service)
    return Response(200, {"primaryKey": service.primary_key, "secondaryKey": service.secondary_key})


def _regenerate(engine: Engine, req: Request) -> Response:
    service = _require(engine, req)
    _cluster_only(service)
    key_type = req.json().get("keyType")
    key_type = key_type.capitalize() if isinstance(key_type, str) else ""
    if key_type not in ("Primary", "Secondary"):
        raise bad_request("Invalid keyType; possible values: Primary, Secondary.")
    fresh = deployments.regenerate_key(engine, service, primary=key_type == "Primary")
    return Response(200, {"primaryKey": fresh.primary_key, "secondaryKey": fresh.secondary_key})


def _logs(engine: Engine, req: Request) -> Response:
    service = _require(engine, req)
    try:
        max_lines = int(req.query.get("maxLines") or 5000)
    except ValueError as exc:
        raise bad_request("'maxLines' must be an integer.") from exc
    lines = replica_logs.merged(engine.paths.services / service.id, max_lines, req.query.get("requestId"))
    return Response(200, {"lines": lines})


def routes(engine: Engine) -> list[Route]:
    one = MMS + "/services/(?P<id>[^/]+)"
    return [
        route("POST", MMS + "/services", bind(engine, _create)),
        route("GET", MMS + "/services", bind(engine, _list)),
        route("GET", one, bind(engine, _show)),
        route("PUT", one, bind(engine, _update)),
        route("DELETE", one, bind(engine, _delete)),
        route("GET", one + "/keys", bind(engine, _keys)),
        route("POST", one + "/regenerateKeys", bind(engine, _regenerate)),
        route("GET", one + "/logs", bind(engine, _logs)),
    ]
