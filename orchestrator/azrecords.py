"""Records the orchestrator reads from the `az ml` CLI: raw JSON shapes (TypedDict) and frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

# --- raw JSON shapes (what the CLI prints with -o json) -------------------------------------------

AccountJson = TypedDict(
    "AccountJson",
    {"name": str, "location": str, "resourceGroup": str, "resource_group": str, "subscription": str},
    total=False,
)
EnvJson = TypedDict(
    "EnvJson",
    {
        "Cluster Name": str,
        "Cluster Size": "int | str",
        "Created On": str,
        "Current Mode": str,
        "Location": str,
        "Provisioning Errors": list[Any],
        "Provisioning State": str,
        "Resource Group": str,
        "Subscription": str,
    },
    total=False,
)


class ModelJson(TypedDict, total=False):
    Id: str
    Name: str
    Version: int
    CreatedAt: str


class ManifestJson(TypedDict, total=False):
    Id: str
    Name: str
    Version: int
    ModelIds: list[str]


class ImageJson(TypedDict, total=False):
    Id: str
    Name: str
    Version: int
    CreationState: str
    Manifest_Name: str
    Manifest_Version: int


class ServiceJson(TypedDict, total=False):
    Id: str
    Name: str
    State: str
    Image_URL: str
    Models: str
    UpdatedAt: str


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    resource_group: str
    location: str


@dataclass(frozen=True)
class Environment:
    name: str
    resource_group: str
    location: str
    state: str
    errors: tuple[str, ...] = ()
    cluster_size: int | None = None


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    version: int


@dataclass(frozen=True)
class Manifest:
    id: str
    name: str
    version: int
    model_ids: tuple[str, ...]


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    version: int
    state: str
    manifest_name: str | None = None


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    state: str
    image_url: str | None = None
    models: str | None = None
    image_id: str | None = None  # only with `-v`
    image_version: int | None = None  # only with `-v`
    scoring_uri: str | None = None  # only with `-v`


@dataclass(frozen=True)
class Progress:
    """A `Creating image...Done.` style line: verb, noun, number of polls, outcome (Done/Failed)."""

    verb: str
    noun: str
    polls: int
    outcome: str


@dataclass(frozen=True)
class Deployed:
    """The text a successful `service create|update realtime` prints."""

    service_id: str
    local: bool
    usage: str | None
    progress: Progress | None


@dataclass(frozen=True)
class Table:
    """An `-o table` output: column names and rows of cell strings."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row)) for row in self.rows]
