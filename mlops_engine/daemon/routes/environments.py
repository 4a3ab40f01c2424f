"""Environments (MLC operationalization clusters, ARM wire format); provisioning runs in work/provisioning.py."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from ..engine import Engine
from ..errors import ApiError, bad_request
from ..jsonvalue import JSON, JSONObject
from ..server import Request, Response, Route, route
from ..store import environments as store
from ..store.records import Credentials, Environment, scope_key
from ..work import provisioning
from ..work.provisioning import AcsRequest, EnvironmentCreate
from .common import RG, SUB, bind, listed
from .fields import opt_object, opt_str, str_map

PROVIDER: Final = "/providers/Microsoft.MachineLearningCompute/operationalizationClusters"
ENV_TYPE: Final = "Microsoft.MachineLearningCompute/operationalizationClusters"


def environment_json(engine: Engine, e: Environment) -> JSON:
    base = f"/subscriptions/{engine.subscription_id}/resourceGroups/{e.rg}/providers"
    props: dict[str, JSON] = {
        "description": e.description,
        "createdOn": e.created_on,
        "modifiedOn": e.modified_on,
        "provisioningState": e.state,
        "clusterType": e.cluster_type,
        "storageAccount": {"resourceId": f"{base}/Microsoft.Storage/storageAccounts/mlcrpstg{e.suffix}"},
        "containerRegistry": {"resourceId": f"{base}/Microsoft.ContainerRegistry/registries/{e.registry}"},
        "appInsights": {"resourceId": f"{base}/microsoft.insights/components/mlcrpai{e.suffix}"},
        "globalServiceConfiguration": {"ssl": {"status": "Disabled"}},
    }
    if e.acs is not None:
        props["containerService"] = {
            "clusterFqdn": "127.0.0.1",
            "orchestratorType": "Kubernetes",
            "orchestratorProperties": {"servicePrincipal": {"clientId": e.acs.client_id}},
            "systemServices": [
                {
                    "systemServiceType": "ScoringFrontEnd",
                    "publicIpAddress": "127.0.0.1",
                    "version": e.acs.system_version,
                }
            ],
            "masterCount": e.acs.master_count,
            "agentCount": e.acs.agent_count,
            "agentVmSize": e.acs.agent_vm_size,
        }
    if e.failure_code:  # kept while a failed environment is being deleted
        props["provisioningErrors"] = [
            {
                "error": {
                    "code": "ClusterCreationFailed",
                    "message": "Cluster creation failed",
                    "details": [{"code": e.failure_code, "message": e.failure_message}],
                }
            }
        ]
    return {
        "id": f"{base}/Microsoft.MachineLearningCompute/operationalizationClusters/{e.name}",
        "name": e.name,
        "location": e.location,
        "type": ENV_TYPE,
        "tags": dict(e.tags),
        "properties": props,
    }


def credentials_json(engine: Engine, e: Environment, c: Credentials) -> JSON:
    base = f"/subscriptions/{engine.subscription_id}/resourceGroups/{e.rg}/providers"
    service: JSON = None
    if c.kube_token is not None:
        kubeconfig = (
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: 'http://127.0.0.1'}\n"
            f"  name: {e.name}\ncontexts:\n- context: {{cluster: {e.name}, user: {e.name}-admin}}\n"
            f"  name: {e.name}\ncurrent-context: {e.name}\nusers:\n- name: {e.name}-admin\n"
            f"  user: {{token: {c.kube_token}}}\n"
        )
        service = {
            "acsKubeConfig": kubeconfig,
            "imagePullSecretName": f"acr-{e.name}",
            "servicePrincipalConfiguration": None,
        }
    return {
        "storageAccount": {
            "resourceId": f"{base}/Microsoft.Storage/storageAccounts/mlcrpstg{e.suffix}",
            "primaryKey": c.storage_primary,
            "secondaryKey": c.storage_secondary,
        },
        "containerRegistry": {
            "loginServer": f"{e.registry}.local",
            "username": e.registry,
            "password": c.registry_password,
            "password2": c.registry_password2,
        },
        "containerService": service,
        "appInsights": {"appId": c.app_insights_id, "instrumentationKey": c.app_insights_key},
        "serviceAuthConfiguration": None,
        "sslConfiguration": None,
    }


def _int_in(value: JSON, default: int, allowed: Collection[int], what: str) -> int:
    value = default if value is None else value
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise bad_request(f"Invalid {what}: {value!r}.")
    return value


def parse_create(body: JSONObject) -> EnvironmentCreate:
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise bad_request("Missing or invalid field 'location'.")
    props = opt_object(body, "properties") or {}
    cluster_type = props.get("clusterType", "Local")
    if cluster_type != "ACS" and cluster_type != "Local":
        raise bad_request(f"Invalid clusterType {cluster_type!r}; possible values: ACS, Local.")
    acs = None
    if cluster_type == "ACS":
        cs = opt_object(props, "containerService") or {}
        vm_size = cs.get("agentVmSize")
        acs = AcsRequest(
            master_count=_int_in(cs.get("masterCount"), 1, (1, 3, 5), "masterCount (must be 1, 3 or 5)"),
            agent_count=_int_in(cs.get("agentCount"), 2, range(1, 101), "agentCount (must be 1-100)"),
            agent_vm_size=str(vm_size or "Standard_D3_v2"),
        )
    return EnvironmentCreate(
        location, cluster_type, opt_str(props, "description"), str_map(body, "tags"), acs
    )


def _put(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    body = req.json()
    existing = store.get(engine.db, scope_key(req.params["rg"], req.params["name"]))
    if existing is not None:
        return Response(200, environment_json(engine, existing))
    env, created = provisioning.create(engine, req.params["rg"], req.params["name"], parse_create(body))
    return Response(201 if created else 200, environment_json(engine, env))


def _require(engine: Engine, req: Request) -> Environment:
    engine.check_sub(req.params["sub"])
    env = store.get(engine.db, scope_key(req.params["rg"], req.params["name"]))
    if env is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{ENV_TYPE}/{req.params['name']}' under resource "
            f"group '{req.params['rg']}' was not found.",
        )
    return env


def _get(engine: Engine, req: Request) -> Response:
    return Response(200, environment_json(engine, _require(engine, req)))


def _delete(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    if not provisioning.start_delete(engine, scope_key(req.params["rg"], req.params["name"])):
        return Response(204)
    return Response(202, {})


def _list_keys(engine: Engine, req: Request) -> Response:
    env = _require(engine, req)
    creds = store.get_credentials(engine.db, env.key)
    if creds is None:
        raise ApiError(
            409,
            "Conflict",
            f"Environment {env.name} is {env.state}; keys exist once provisioning has succeeded.",
        )
    return Response(200, credentials_json(engine, env, creds))


def _list(engine: Engine, req: Request) -> Response:
    engine.check_sub(req.params["sub"])
    return listed([environment_json(engine, e) for e in store.list_all(engine.db, req.params.get("rg"))])


def routes(engine: Engine) -> list[Route]:
    env = SUB + RG + PROVIDER + "/(?P<name>[^/]+)"
    envs = SUB + f"(?:{RG})?" + PROVIDER
    return [
        route("PUT", env, bind(engine, _put)),
        route("GET", env, bind(engine, _get)),
        route("DELETE", env, bind(engine, _delete)),
        route("POST", env + "/listKeys", bind(engine, _list_keys)),
        route("GET", envs, bind(engine, _list)),
    ]
