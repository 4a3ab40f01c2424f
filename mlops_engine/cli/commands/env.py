"""`az ml env setup|show|list|set|delete|local|cluster|get-credentials` (legacy reference 5.1).

Provisioning is asynchronous: `setup` returns once the environment is submitted and `show` reports
`Provisioning State` Creating -> Succeeded | Failed, as the legacy CLI did (nothing here polls).
Prompts of the legacy CLI (subscription choice, "Reuse storage and ACR") are not asked: the local
engine has one subscription and keeps storage and registry under MLOPS_HOME.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from mlops_engine.cli import profile
from mlops_engine.cli.commands.arm import CLUSTERS, call, list_path, resource_path, rg_path, segment
from mlops_engine.cli.context import Context
from mlops_engine.cli.errors import CliError

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {_CAMEL.sub("_", k).lower(): _snake(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [v if isinstance(v, dict) and "error" in v else _snake(v) for v in value]
    return value


def serialize(env: dict[str, Any]) -> dict[str, Any]:
    """The environment as the legacy CLI stored it: snake_case, plus subscription and resource_group."""
    top = {k: v for k, v in env.items() if k != "properties"}
    data = _snake({**top, **env.get("properties", {})})
    if "provisioning_errors" in data:
        data["provisioning_errors"] = env["properties"]["provisioningErrors"]
    data.pop("description", None)
    data["subscription"] = segment(env["id"], 2)
    data["resource_group"] = segment(env["id"], 4)
    return data


def _mode(data: dict[str, Any]) -> str:
    return "cluster" if data.get("cluster_type") == "ACS" else "local"


def summarize(data: dict[str, Any], mode: str | None) -> dict[str, Any]:
    service = data.get("container_service")
    out: dict[str, Any] = {
        "Subscription": data["subscription"],
        "Resource Group": data["resource_group"],
        "Cluster Name": data["name"],
        "Created On": data.get("created_on"),
        "Provisioning State": data.get("provisioning_state"),
        "Location": data.get("location"),
        "Cluster Size": service.get("agent_count") if service else "N/A",
    }
    if data.get("provisioning_state") == "Failed":
        out["Provisioning Errors"] = (data.get("provisioning_errors") or [])[:250]
    if mode:
        out["Current Mode"] = mode
    return out


def _get(ctx: Context, rg: str, name: str, ok_missing: bool = False) -> dict[str, Any] | None:
    resp = ctx.client.request("GET", resource_path(ctx, CLUSTERS, rg, name))
    if resp.status == 404 and ok_missing:
        return None
    if resp.status != 200:
        err = resp.json() or {}
        raise CliError(None, **{"Response Code": err.get("code", "ResourceNotFound"),
                                "Response Content": err.get("message", f"Environment {name} not found in resource group {rg}.")})
    return resp.json()


def setup(ctx: Context, location: str, name: str, acr: str | None, agent_count: int | None, agent_vm_size: str | None,
          cert_cname: str | None, cert_pem: str | None, cluster: bool, key_pem: str | None, master_count: int,
          resource_group: str | None, service_principal_app_id: str | None, service_principal_password: str | None,
          storage: str | None, yes: bool, verb: bool) -> None:
    if not 1 <= len(name) <= 20:
        raise CliError("Invalid environment name. Name must be between 1 and 20 characters in length.")
    if not re.fullmatch(r"[a-z0-9]+", name):
        raise CliError("Invalid environment name. Name must only contain lowercase alphanumeric characters.")
    if master_count not in (1, 3, 5):
        raise CliError("Master count must be 1, 3, or 5.")
    if any((cert_pem, key_pem, cert_cname)):
        raise CliError("SSL is not available in the local engine: scoring services listen on 127.0.0.1 over HTTP. "
                       "Run 'az ml env setup' without --cert-pem/--key-pem/--cert-cname.")
    if storage or acr:
        raise CliError("The local engine keeps storage and the image registry under MLOPS_HOME; "
                       "run 'az ml env setup' without --storage/--acr.")
    rg = resource_group or f"{name}rg"
    if ctx.client.request("GET", rg_path(ctx, rg)).status == 200:
        ctx.out(f"Resource group {rg} already exists, skipping creation.")
    else:
        ctx.out(f"Creating resource group {rg}")
        call(ctx, "PUT", rg_path(ctx, rg), {"location": location}, "creating resource group")
    ctx.out("Provisioning compute resources...")
    props: dict[str, Any] = {"clusterType": "ACS" if cluster else "Local", "containerRegistry": {},
                             "globalServiceConfiguration": {"ssl": {"status": "Disabled"}}, "storageAccount": {}}
    if cluster:
        props["containerService"] = {"agentCount": agent_count or 2, "agentVmSize": agent_vm_size or "Standard_D3_v2",
                                     "masterCount": master_count, "orchestratorType": "Kubernetes"}
        if service_principal_app_id:
            props["containerService"]["orchestratorProperties"] = {"servicePrincipal": {"clientId": service_principal_app_id}}
    resp = ctx.client.request("PUT", resource_path(ctx, CLUSTERS, rg, name), {"location": location, "properties": props})
    if verb:
        ctx.out(f"Create response\nStatus Code: {resp.status}\nHeaders: {resp.headers}\nContent: {resp.body!r}")
    if resp.status not in (200, 201):
        raise CliError("Received bad response from MLC RP", **{"Response Code": resp.status,
                       "Response Content": resp.body.decode(errors="replace"), "Response Headers": resp.headers})
    ctx.out("Resource creation submitted successfully.")
    if cluster:
        ctx.out("Resources may take 10-20 minutes to be completely provisioned.")
        ctx.out("To see if your environment is ready to use, run:")
        ctx.out(f"  az ml env show -g {rg} -n {name}")
        ctx.out("Once your environment has successfully provisioned, you can set it as your target context using:")
    else:
        ctx.out("To see more information for your environment, run:")
        ctx.out(f"  az ml env show -g {rg} -n {name}")
        ctx.out("You can set the new environment as your target context using:")
    ctx.out(f"  az ml env set -g {rg} -n {name}")


def show(ctx: Context, cluster_name: str | None, resource_group: str | None, verb: bool) -> Any:
    if cluster_name and resource_group:
        data = serialize(_get(ctx, resource_group, cluster_name))  # type: ignore[arg-type]
        mode = None
    else:
        current = profile.load_env(ctx.paths)
        if not current:
            raise CliError("Resource group and compute name must be provided if current environment is unset.")
        env = _get(ctx, current["resource_group"], current["name"], ok_missing=True)
        if env is None:
            sys.stderr.write(
                f"WARNING: Unable to find env with group {current['resource_group']} and name {current['name']}. "
                "It may have been moved or deleted, or you could have the wrong active subscription set. "
                "Unsetting current env.\nWARNING: To see available environments in the subscription, run:\n"
                "  az ml env list\nIf you wish to set an environment, run:\n  az ml env set -g <resource group> -n <cluster name>\n")
            profile.clear_env(ctx.paths)
            return None
        data = serialize(env)
        mode = current.get("current_execution_mode", _mode(data))
        data["current_execution_mode"] = mode
    if verb:
        data["resourceGroup"] = data["resource_group"]
        return data
    return summarize(data, mode)


def list_(ctx: Context, resource_group: str | None, verb: bool) -> Any:
    page = call(ctx, "GET", list_path(ctx, CLUSTERS, resource_group), None, "listing environments", ok=(200,))
    envs = [serialize(e) for e in page.get("value", [])]
    return [summarize(d, _mode(d)) for d in envs]


def set_(ctx: Context, cluster_name: str, resource_group: str, disable_dashboard: bool) -> None:
    env = _get(ctx, resource_group, cluster_name)
    assert env is not None
    data = serialize(env)
    state = data.get("provisioning_state")
    if state != "Succeeded":
        raise CliError(f"Resource with group {resource_group} and name {cluster_name} cannot be set, as its provisioning "
                       f"state is {state}. Provisioning state succeeded is required.")
    data["current_execution_mode"] = _mode(data)
    profile.save_env(ctx.paths, data)
    ctx.out(f"Compute set to {cluster_name}.")


def _switch(ctx: Context, mode: str) -> None:
    current = profile.load_env(ctx.paths)
    if not current:
        raise CliError(f"Error, unable to switch to {mode} mode, current environment not set. Please run 'az ml env set' "
                       "to set a current environment or 'az ml env setup' to setup a new environment")
    if mode == "cluster" and current.get("cluster_type") != "ACS":
        raise CliError("Error, currently set environment does not support cluster mode. Please either run 'az ml env set' "
                       "to set a different environment, or run 'az ml env setup' to provision a new environment.")
    current["current_execution_mode"] = mode
    profile.save_env(ctx.paths, current)
    ctx.out(f"Now running in {mode} mode")


def local(ctx: Context) -> None:
    _switch(ctx, "local")


def cluster(ctx: Context) -> None:
    _switch(ctx, "cluster")


def delete(ctx: Context, cluster_name: str, resource_group: str) -> None:
    call(ctx, "DELETE", resource_path(ctx, CLUSTERS, resource_group, cluster_name), None,
         "deleting environment", ok=(200, 202, 204))
    ctx.out("Resource deletion successfully submitted.")
    ctx.out("Resources may take 1-2 minutes to be completely deprovisioned.")


def get_credentials(ctx: Context, cluster_name: str, resource_group: str, install_kube_config: Any, verb: bool) -> Any:
    mode = profile.current_mode(ctx.paths)
    keys = call(ctx, "POST", resource_path(ctx, CLUSTERS, resource_group, cluster_name) + "/listKeys", None,
                "listing environment keys", ok=(200,))
    if install_kube_config and mode == "cluster":
        if install_kube_config is True:
            raise CliError("The local engine has no Kubernetes cluster to merge into ~/.kube/config; "
                           "pass a file path to -i to write the generated configuration there.")
        with open(install_kube_config, "w") as fh:
            fh.write(keys["containerService"]["acsKubeConfig"])
    return keys
