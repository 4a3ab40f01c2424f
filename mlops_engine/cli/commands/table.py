"""The command table: every `az ml` command, its flags (legacy reference 5 + Appendix A) and handler.

Data only, cheap to import: the dispatcher builds an argparse parser for the one command being run and
imports only that command's module. Flag order is the legacy registration order (it shows in usage lines).
"""

from __future__ import annotations

from mlops_engine.cli.commands.batch_table import BATCH_COMMANDS, PIPELINE_COMMANDS
from mlops_engine.cli.commands.spec import A, Arg, Command

__all__ = ["COMMANDS", "A", "Arg", "Command", "groups"]


V = A("-v", dest="verb", action="store_true")
RG = A("--resource-group", "-g", dest="resource_group")
RG_REQ = A("--resource-group", "-g", dest="resource_group", required=True)

_SERVICE_OPTIONS = (
    A("--autoscale-enabled", dest="autoscale_enabled"),
    A("--autoscale-max-replicas", dest="autoscale_max_replicas", type=int),
    A("--autoscale-min-replicas", dest="autoscale_min_replicas", type=int),
    A("--autoscale-refresh-period-seconds", dest="autoscale_refresh_period_seconds", type=int),
    A("--autoscale-target-utilization", dest="autoscale_target_utilization", type=int),
    A("--collect-model-data", dest="collect_model_data"),
    A("--cpu", dest="cpu"),
)
_SERVICE_OPTIONS_2 = (
    A("--memory", dest="memory"),
    A("--replica-max-concurrent-requests", dest="replica_max_concurrent_requests", type=int),
    V,
    A("-z", dest="num_replicas", type=int),
)

COMMANDS: dict[tuple[str, ...], Command] = {
    # account modelmanagement
    ("account", "modelmanagement", "create"): Command("account:create", (
        A("--location", "-l", dest="location", required=True),
        A("--name", "-n", dest="name", required=True),
        RG_REQ,
        A("--description", "-d", dest="description", default=""),
        A("--sku-instances", dest="sku_instances", type=int, default=1),
        A("--sku-name", dest="sku_name", default="S1"),
        A("--tags", "-t", dest="tags", default="{}"),
        V,
    )),
    ("account", "modelmanagement", "show"): Command("account:show", (A("--name", "-n", dest="name"), RG, V)),
    ("account", "modelmanagement", "list"): Command("account:list_", (RG, V)),
    ("account", "modelmanagement", "update"): Command("account:update", (
        A("--name", "-n", dest="name", required=True),
        RG_REQ,
        A("--description", "-d", dest="description"),
        A("--sku-instances", dest="sku_instances", type=int),
        A("--sku-name", dest="sku_name"),
        A("--tags", "-t", dest="tags"),
        V,
    )),
    ("account", "modelmanagement", "delete"): Command("account:delete", (A("--name", "-n", dest="name", required=True), RG_REQ, V)),
    ("account", "modelmanagement", "set"): Command("account:set_", (A("--name", "-n", dest="name", required=True), RG_REQ, V)),
    # env
    ("env", "setup"): Command("env:setup", (
        A("--location", "-l", dest="location", required=True),
        A("--name", "-n", dest="name", required=True),
        A("--acr", "-r", dest="acr"),
        A("--agent-count", "-z", dest="agent_count", type=int),
        A("--agent-vm-size", dest="agent_vm_size"),
        A("--cert-cname", dest="cert_cname"),
        A("--cert-pem", dest="cert_pem"),
        A("--cluster", "-c", dest="cluster", action="store_true"),
        A("--key-pem", dest="key_pem"),
        A("--master-count", "-m", dest="master_count", type=int, default=1),
        RG,
        A("--service-principal-app-id", "-a", dest="service_principal_app_id"),
        A("--service-principal-password", "-p", dest="service_principal_password"),
        A("--storage", "-s", dest="storage"),
        A("--yes", "-y", dest="yes", action="store_true"),
        V,
    )),
    ("env", "show"): Command("env:show", (A("--cluster-name", "-n", dest="cluster_name"), RG, V)),
    ("env", "list"): Command("env:list_", (RG, V)),
    ("env", "set"): Command("env:set_", (
        A("--cluster-name", "-n", dest="cluster_name", required=True),
        RG_REQ,
        A("--disable-dashboard", dest="disable_dashboard", action="store_true", hidden=True),
    )),
    ("env", "delete"): Command("env:delete", (A("--cluster-name", "-n", dest="cluster_name", required=True), RG_REQ)),
    ("env", "local"): Command("env:local"),
    ("env", "cluster"): Command("env:cluster"),
    ("env", "get-credentials"): Command("env:get_credentials", (
        A("--cluster-name", "-n", dest="cluster_name", required=True),
        RG_REQ,
        A("--install-kube-config", "-i", dest="install_kube_config", nargs="?", const=True),
        V,
    )),
    # model
    ("model", "register"): Command("model:register", (
        A("--model", "-m", dest="model_path", required=True),
        A("--name", "-n", dest="model_name", required=True),
        A("--tag", "-t", dest="tags", action="append"),
        A("--description", "-d", dest="description"),
        V,
    )),
    ("model", "show"): Command("model:show", (A("--model", "-m", dest="model", required=True), A("--tag", "-t", dest="tag"), V)),
    ("model", "list"): Command("model:list_", (A("--tag", "-t", dest="tag"), V)),
    # manifest
    ("manifest", "create"): Command("manifest:create", (
        A("--manifest-name", "-n", dest="manifest_name", required=True),
        A("-f", dest="driver_file", required=True),
        A("-r", dest="runtime", required=True),
        A("--conda-file", "-c", dest="conda_file"),
        A("--dependency", "-d", dest="dependencies", action="append"),
        A("--manifest-description", dest="manifest_description"),
        A("--schema-file", "-s", dest="schema_file"),
        A("-p", dest="requirements"),
        V,
        A("--model-id", "-i", dest="model_ids", action="append"),
        A("--model-file", "-m", dest="model_files", action="append"),
    )),
    ("manifest", "show"): Command("manifest:show", (A("--manifest-id", "-i", dest="manifest_id", required=True), V)),
    ("manifest", "list"): Command("manifest:list_", (V,)),
    # image
    ("image", "create"): Command("image:create", (
        A("--image-name", "-n", dest="image_name", required=True),
        A("--image-description", dest="image_description"),
        V,
        A("--manifest-id", dest="manifest_id"),
        A("--conda-file", "-c", dest="conda_file"),
        A("--dependency", "-d", dest="dependencies", action="append"),
        A("--model-file", "-m", dest="model_files", action="append"),
        A("--schema-file", "-s", dest="schema_file"),
        A("-f", dest="driver_file"),
        A("-p", dest="requirements"),
        A("-r", dest="runtime"),
    )),
    ("image", "show"): Command("image:show", (A("--image-id", "-i", dest="image_id", required=True), V)),
    ("image", "list"): Command("image:list_", (V,)),
    ("image", "usage"): Command("image:usage", (A("--image-id", "-i", dest="image_id", required=True), V)),
    # service ... realtime
    ("service", "create", "realtime"): Command("service:create", (
        A("-n", dest="service_name", required=True),
        *_SERVICE_OPTIONS,
        A("--enable-app-insights", "-l", dest="app_insights_enabled"),
        *_SERVICE_OPTIONS_2,
        A("--image-id", dest="image_id"),
        A("--conda-file", "-c", dest="conda_file"),
        A("--model-file", "-m", dest="model_files", action="append"),
        A("-d", dest="dependencies", action="append"),
        A("-f", dest="driver_file"),
        A("-p", dest="requirements"),
        A("-r", dest="runtime"),
        A("-s", dest="schema_file"),
    )),
    ("service", "list", "realtime"): Command("service:list_", (V,)),
    ("service", "show", "realtime"): Command("service:show", (A("--id", "-i", dest="service_id"), A("--name", "-n", dest="service_name"), V)),
    ("service", "update", "realtime"): Command("service:update", (
        A("--id", "-i", dest="service_id", required=True),
        *_SERVICE_OPTIONS,
        A("--enable-app-insights", dest="app_insights_enabled"),  # no -l here, unlike create (Appendix A)
        A("--image-id", dest="image_id"),
        *_SERVICE_OPTIONS_2,
    )),
    ("service", "delete", "realtime"): Command("service:delete", (A("--id", "-i", dest="service_id", required=True), V)),
    ("service", "run", "realtime"): Command("service:run", (
        A("--id", "-i", dest="service_id", required=True),
        A("-d", dest="input_data", default=""),
        V,
    )),
    ("service", "keys", "realtime"): Command("service:keys", (
        A("--id", "-i", dest="service_id", required=True),
        A("--key", "-k", dest="key"),
        A("--regen", "-r", dest="regen", action="store_true"),
        V,
    )),
    ("service", "usage", "realtime"): Command("service:usage", (A("--id", "-i", dest="service_id", required=True), V)),
    ("service", "logs", "realtime"): Command("service:logs", (
        A("--id", "-i", dest="service_id"),
        A("--kubeconfig", "-k", dest="kubeconfig"),
        A("--max-lines", "-l", dest="max_lines", type=int, default=5000),
        A("--request-id", "-r", dest="request_id"),
        V,
    )),
    # Workbench-only commands the churn lab uses (not in the azure-cli-ml package; see docs)
    ("experiment", "submit"): Command("experiment:submit", (A("--run-configuration", "-c", dest="target", required=True),), ("script", "script_args")),
    ("experiment", "prepare"): Command("experiment:prepare", (A("--run-configuration", "-c", dest="target", required=True),)),
}


COMMANDS.update(BATCH_COMMANDS)
COMMANDS.update(PIPELINE_COMMANDS)


def groups() -> dict[tuple[str, ...], list[str]]:
    """Group path -> ordered child words (the order shown in `usage: ... {a,b,c}`)."""
    order: dict[tuple[str, ...], list[str]] = {(): ["account", "env", "image", "manifest", "model", "service", "experiment",
                                                    "pipeline"]}
    explicit = {
        ("model",): ["register", "show", "list"],
        ("manifest",): ["create", "show", "list"],
        ("image",): ["create", "show", "list", "usage"],
        ("env",): ["setup", "show", "list", "set", "delete", "local", "cluster", "get-credentials"],
        ("account",): ["modelmanagement"],
        ("account", "modelmanagement"): ["create", "show", "list", "update", "delete", "set"],
        ("service",): ["canceljob", "create", "delete", "keys", "list", "listjobs", "logs", "run", "show", "showjob",
                       "update", "usage"],
        ("experiment",): ["submit", "prepare"],
        ("pipeline",): [p[1] for p in PIPELINE_COMMANDS],
    }
    order.update(explicit)
    for path in COMMANDS:  # service <verb> realtime|batch, in the command table's order
        if path[0] == "service":
            order.setdefault(path[:2], []).append(path[2])
    return order
