"""The daemon's stored state as typed records: one frozen dataclass per resource, fields = SQLite columns.

Nothing here knows the MMS/ARM JSON: routes/ turns records into camelCase documents and requests into
records. Derived values (ARM ids, URLs, the image location) are computed from these fields, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import ErrorInfo

ClusterType = Literal["ACS", "Local"]
ProvisioningState = Literal["Creating", "Succeeded", "Failed", "Deleting"]
WorkState = Literal["NotStarted", "Running", "Succeeded", "Failed"]  # operations, image builds, services
OperationType = Literal["Image", "Service"]
ServiceMode = Literal["local", "cluster"]
Desired = Literal["running", "failed", "deleted"]  # what should run after a daemon restart


def scope_key(rg: str, name: str) -> str:
    """The case-insensitive key of an account or environment: `<rg>/<name>` lowercased."""
    return f"{rg.lower()}/{name.lower()}"


@dataclass(frozen=True)
class ResourceGroup:
    key: str  # lowercased name
    name: str
    location: str


@dataclass(frozen=True)
class Account:
    """A Model Management account; `rg` and `name` keep the casing of the request that created it."""

    key: str
    rg: str
    name: str
    location: str
    tags: Mapping[str, str]
    sku_name: str
    sku_capacity: int
    description: str | None
    created_on: str
    modified_on: str


@dataclass(frozen=True)
class AcsProfile:
    """The container service of a cluster (ACS) environment."""

    client_id: str
    master_count: int
    agent_count: int
    agent_vm_size: str
    system_version: str  # the engine version that provisioned it


@dataclass(frozen=True)
class ServingProbe:
    """What provisioning found in the serving interpreter."""

    python: str
    executable: str
    httptools: str


@dataclass(frozen=True)
class Environment:
    """An operationalization cluster; `suffix` names its storage account, registry and app insights."""

    key: str
    rg: str
    name: str
    location: str
    tags: Mapping[str, str]
    description: str | None
    created_on: str
    modified_on: str
    state: ProvisioningState
    cluster_type: ClusterType
    suffix: str
    acs: AcsProfile | None
    failure_code: str | None = None  # set when state is Failed
    failure_message: str | None = None
    serving: ServingProbe | None = None

    @property
    def registry(self) -> str:
        return f"mlcrpacr{self.suffix}"


@dataclass(frozen=True)
class Credentials:
    """An environment's generated secrets (listKeys); kept apart from the environment record."""

    env_key: str
    storage_primary: str
    storage_secondary: str
    registry_password: str
    registry_password2: str
    app_insights_id: str
    app_insights_key: str
    kube_token: str | None  # cluster environments only


@dataclass(frozen=True)
class Model:
    id: str
    account: str
    name: str
    version: int
    tags: tuple[str, ...]
    description: str | None
    url: str
    mime_type: str
    unpack: bool
    created_at: str


@dataclass(frozen=True)
class Asset:
    """A manifest asset: the driver (`id == "driver"`) or a dependency archive."""

    id: str
    url: str
    mime_type: str | None
    unpack: bool | None


@dataclass(frozen=True)
class Manifest:
    id: str
    account: str
    name: str
    version: int
    description: str | None
    driver_program: str
    model_type: str
    model_ids: tuple[str, ...]
    assets: tuple[Asset, ...]
    runtime_type: str
    pip_requirements: str | None  # artifact url
    conda_env_file: str | None  # artifact url
    created_time: str


@dataclass(frozen=True)
class Image:
    id: str
    account: str
    name: str
    version: int
    description: str | None
    compute_resource_id: str | None
    created_time: str
    state: WorkState
    manifest_id: str
    error: ErrorInfo | None = None


@dataclass(frozen=True)
class DataCollection:
    storage_enabled: bool = False
    event_hub_enabled: bool = False


@dataclass(frozen=True)
class AutoScaler:
    """Autoscale settings as given (None = not given); the engine runs `min_replicas` when enabled."""

    enabled: bool | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_utilization: int | None = None
    refresh_period_seconds: int | None = None


@dataclass(frozen=True)
class Reservation:
    cpu: str | None = None
    memory: str | None = None


@dataclass(frozen=True)
class ServiceSettings:
    """What `service create` sets and `service update` may change."""

    num_replicas: int = 1
    app_insights_enabled: bool = False
    data_collection: DataCollection = DataCollection()
    autoscaler: AutoScaler = AutoScaler()
    reservation: Reservation = Reservation()
    max_concurrent_requests: int | None = None

    def replica_count(self) -> int:
        """How many replicas to run: autoscale runs its minimum (the engine does not scale on demand)."""
        if self.autoscaler.enabled:
            return max(1, self.autoscaler.min_replicas or 1)
        return max(1, self.num_replicas)


@dataclass(frozen=True)
class Service:
    """A service: `image_id` is the last good image, `target_image_id` the one an update is deploying."""

    id: str
    account: str
    name: str
    mode: ServiceMode
    env_key: str
    compute_id: str  # the environment's ARM id as the client sent it
    port: int  # 0 until the first start picked one
    image_id: str
    target_image_id: str
    desired: Desired
    primary_key: str | None
    secondary_key: str | None
    state: WorkState
    created_at: str
    updated_at: str
    settings: ServiceSettings
    error: ErrorInfo | None = None

    @property
    def keys(self) -> tuple[str, str] | None:
        if self.mode != "cluster" or not self.primary_key or not self.secondary_key:
            return None
        return (self.primary_key, self.secondary_key)

    def scoring_uri(self) -> str | None:
        if not self.port:
            return None
        if self.mode == "cluster":
            return f"http://127.0.0.1:{self.port}/api/v1/service/{self.name}/score"
        return f"http://127.0.0.1:{self.port}/score"


@dataclass(frozen=True)
class Operation:
    id: str
    account: str
    type: OperationType
    state: WorkState
    created_time: str
    end_time: str | None
    resource_location: str  # the MMS path of the image or service it works on
    error: ErrorInfo | None = None
