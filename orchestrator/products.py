"""What steps hand to later steps: one frozen record per kind of product, and each step's contract.

A step kind declares, in a `Contract`, the params sections it reads, the products it needs (an
earlier step must provide them), the ones it uses when present, and the ones it always provides.
`orchestrator.dataflow.check` compares the declarations with a recipe's step order before anything
runs, so `steps: [service]` is rejected by `validate` instead of failing half-way (issue 8, item 4).
At run time `Products` holds one record per type; `Context.need` / `Context.provide` enforce the
declarations, so no step can read what it did not declare.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar


@dataclass(frozen=True)
class Product:
    """Base of every product record; `label` says what it is in validation messages."""

    label: ClassVar[str] = "a product"

    def as_json(self) -> dict[str, Any]:
        """The record's fields for the JSON envelope's `data.produced` (None values left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = str(value) if isinstance(value, Path) else value
        return out


@dataclass(frozen=True)
class TrainedModel(Product):
    """`train`: the model file in the staging directory and its sha256."""

    label: ClassVar[str] = "a trained model file"
    model_file: Path
    model_sha256: str


@dataclass(frozen=True)
class ServiceSchemaFile(Product):
    """`schema`: service_schema.json in the staging directory (sent with `manifest create -s`)."""

    label: ClassVar[str] = "a service schema file"
    schema_file: Path

    def as_json(self) -> dict[str, Any]:
        return {}  # not part of the envelope's `produced` (unchanged since envelope version 1)


@dataclass(frozen=True)
class SelectedAccount(Product):
    """`account`: the model management account found or created, and selected as current."""

    label: ClassVar[str] = "a selected account"
    resource_group: str
    account: str

    def as_json(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class SelectedEnvironment(Product):
    """`env-set`: the environment selected as current."""

    label: ClassVar[str] = "a selected environment"
    resource_group: str
    environment: str

    def as_json(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class ServiceLocation(Product):
    """`locate`: where the journal says the service was deployed (all None when it does not know)."""

    label: ClassVar[str] = "the service's location from the journal"
    resource_group: str | None
    account: str | None
    environment: str | None

    def as_json(self) -> dict[str, Any]:
        return {}

    def describe(self) -> str:
        """`environment mlopsenv (account mlopsacct, resource group mlopsrg)`."""
        parts = [
            f"{what} {value}"
            for what, value in (("account", self.account), ("resource group", self.resource_group))
            if value
        ]
        head = f"environment {self.environment}" if self.environment else "the current environment"
        return f"{head} ({', '.join(parts)})" if parts else head


@dataclass(frozen=True)
class RegisteredModel(Product):
    """`model`: the registered model."""

    label: ClassVar[str] = "a registered model"
    model_id: str
    model_name: str
    model_version: int


@dataclass(frozen=True)
class CreatedManifest(Product):
    """`manifest`: the manifest for the registered model."""

    label: ClassVar[str] = "a manifest"
    manifest_id: str
    manifest_name: str
    manifest_version: int


@dataclass(frozen=True)
class BuiltImage(Product):
    """`image`: a successfully built image."""

    label: ClassVar[str] = "a built image"
    image_id: str
    image_name: str
    image_version: int


@dataclass(frozen=True)
class DeployedService(Product):
    """`service` / `rollback`: the service and the journal row of the deployment (None: nothing deployed).

    `previous_image_id` is the image an update replaced (what an automatic rollback goes back to);
    `image_id` is set by `rollback` (the image it went back to).
    """

    label: ClassVar[str] = "a deployed service"
    service_id: str
    deployment_id: int | None = None
    previous_image_id: str | None = None
    image_id: str | None = None


@dataclass(frozen=True)
class BatchFolders(Product):
    """`batch-data`: the input folder holding the file to score (and its row count), and the output folder."""

    label: ClassVar[str] = "the batch input and output folders"
    input_file: Path
    output_dir: Path
    rows: int

    def as_json(self) -> dict[str, Any]:
        return {"input_file": str(self.input_file), "output_dir": str(self.output_dir), "input_rows": self.rows}


@dataclass(frozen=True)
class BatchService(Product):
    """`batch-service`: the batch service (az ml service create batch)."""

    label: ClassVar[str] = "a batch service"
    batch_service: str


@dataclass(frozen=True)
class PublishedPipeline(Product):
    """`publish`: the published pipeline and its REST endpoint."""

    label: ClassVar[str] = "a published pipeline"
    pipeline_id: str
    pipeline_name: str
    endpoint: str


@dataclass(frozen=True)
class BatchPredictions(Product):
    """`batch-job`: the job that scored the input, and its append_row file (one prediction per input row)."""

    label: ClassVar[str] = "batch predictions"
    job: str
    predictions: Path
    predicted_rows: int


P = TypeVar("P", bound=Product)


@dataclass(frozen=True)
class Contract:
    """What a step kind reads from params, needs from earlier steps, may use, and always provides."""

    params: tuple[str, ...] = ()
    needs: tuple[type[Product], ...] = ()
    uses: tuple[type[Product], ...] = ()
    provides: tuple[type[Product], ...] = ()


class Products:
    """The products of one run, one record per type; a later record of a type replaces the earlier one."""

    def __init__(self) -> None:
        self._items: dict[type[Product], Product] = {}

    def put(self, item: Product) -> None:
        self._items[type(item)] = item

    def find(self, kind: type[P]) -> P | None:
        item = self._items.get(kind)
        return item if isinstance(item, kind) else None

    def __contains__(self, kind: type[Product]) -> bool:
        return kind in self._items

    def __iter__(self) -> Iterator[Product]:
        return iter(self._items.values())

    def as_json(self) -> dict[str, Any]:
        """All records' fields merged in the order the products first appeared."""
        out: dict[str, Any] = {}
        for item in self._items.values():
            out.update(item.as_json())
        return out
