"""Recipes: YAML validated against the bundled recipe.schema.json, then typed (convention 11).

Raw dicts never leave this module: `load()` returns a frozen `Recipe`. Errors name the file and the
JSON path of the failing key. `--set a.b=value` overrides are applied to the raw document *before*
validation, so an override is checked exactly like the file. Whether the steps' order gives each step
its params and inputs is checked by `orchestrator.dataflow` (the steps declare what they need).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from orchestrator import paths, yamlio
from orchestrator.errors import RecipeError


@dataclass(frozen=True)
class AccountParams:
    name: str
    sku_name: str = "S1"
    sku_instances: int = 1


@dataclass(frozen=True)
class EnvironmentParams:
    name: str
    mode: str = "cluster"

    @property
    def cluster(self) -> bool:
        return self.mode == "cluster"


@dataclass(frozen=True)
class ModelParams:
    kind: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class ManifestParams:
    name: str
    runtime: str = "python"
    scoring_file: str = "churn_model/score.py"


@dataclass(frozen=True)
class ImageParams:
    name: str


@dataclass(frozen=True)
class ServiceParams:
    name: str
    replicas: int = 1


@dataclass(frozen=True)
class SmokeParams:
    data: str
    expect: str


@dataclass(frozen=True)
class BatchParams:
    """The batch service (issue 9): its entry script and files, the input it scores, its parallel-run settings."""

    entry_script: str = "churn_model/batch_score.py"
    scoring_file: str = "churn_model/score.py"
    input: str = "churn_model/CATelcoCustomerChurnTrainingSample.csv"
    title: str = ""
    settings: tuple[tuple[str, str], ...] = ()
    dask_scheduler: str | None = None


@dataclass(frozen=True)
class PipelineParams:
    """The published pipeline of the batch service, and the experiment name of the jobs the recipe starts."""

    name: str
    experiment: str = "churn-batch"
    description: str = ""


@dataclass(frozen=True)
class PollingParams:
    env_timeout_s: float = 1800.0
    env_interval_s: float = 30.0
    job_timeout_s: float = 3600.0
    job_interval_s: float = 2.0


@dataclass(frozen=True)
class Params:
    resource_group: str
    location: str
    service: ServiceParams
    account: AccountParams | None = None
    environment: EnvironmentParams | None = None
    model: ModelParams | None = None
    manifest: ManifestParams | None = None
    image: ImageParams | None = None
    smoke: SmokeParams | None = None
    polling: PollingParams = PollingParams()
    batch: BatchParams | None = None
    pipeline: PipelineParams | None = None


@dataclass(frozen=True)
class Step:
    """One step of a recipe: a registered kind plus an optional display name."""

    kind: str
    name: str


@dataclass(frozen=True)
class Recipe:
    path: Path
    version: int
    name: str
    description: str
    on_failure: str
    params: Params
    steps: tuple[Step, ...]
    overrides: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """How errors name this recipe: its file, and whether --set overrides were applied."""
        return str(self.path) + (" (with --set overrides)" if self.overrides else "")

    def params_dict(self) -> dict[str, Any]:
        """Params as plain JSON data (for the journal and --output json)."""
        from dataclasses import asdict

        return asdict(self.params)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(paths.schema_file("recipe.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)  # type: ignore[no-any-return]


def json_path(parts: Iterable[str | int]) -> str:
    """`$.params.service.name` / `$.steps[2].kind`."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def resolve(name_or_path: str) -> Path:
    """A bundled recipe name (`churn-deploy`) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    bundled = paths.recipes_dir() / f"{name_or_path}.yaml"
    if not bundled.exists():
        known = ", ".join(sorted(p.stem for p in paths.recipes_dir().glob("*.yaml"))) or "none"
        raise RecipeError(f"unknown recipe {name_or_path!r} (bundled recipes: {known})")
    return bundled


def bundled() -> list[Path]:
    """The recipes shipped inside the package."""
    return sorted(paths.recipes_dir().glob("*.yaml"))


def _parse_override(text: str) -> tuple[list[str], Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"--set {text!r}: expected KEY=VALUE, e.g. --set service.name=churn2")
    try:
        parsed = yamlio.load_text(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, (dict, list)) or parsed is None:
        parsed = value  # keep structured-looking text as a plain string
    keys = key.strip().split(".")
    if keys[0] != "params":
        keys.insert(0, "params")
    return keys, parsed


def apply_overrides(doc: Any, overrides: Sequence[str]) -> Any:
    """Set `a.b.c=value` paths under `params` (values parsed as YAML scalars: numbers stay numbers)."""
    doc = copy.deepcopy(doc)
    for text in overrides:
        keys, value = _parse_override(text)
        node = doc
        for key in keys[:-1]:
            if not isinstance(node, dict):
                raise RecipeError(f"--set {text!r}: {key!r} is not a section")
            node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise RecipeError(f"--set {text!r}: cannot set a key inside a non-section")
        node[keys[-1]] = value
    return doc


def validate_document(doc: Any, source: str) -> None:
    """Schema validation; raises `RecipeError` naming the file and the JSON path of each error."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [f"{source}: {json_path(e.absolute_path)}: {e.message}" for e in errors[:10]]
        raise RecipeError("invalid recipe\n  " + "\n  ".join(lines))


def expand_step_shorthand(doc: Any) -> Any:
    """`steps: [train, model]` is short for `steps: [{kind: train}, {kind: model}]` (the schema checks the kinds)."""
    if isinstance(doc, dict) and isinstance(doc.get("steps"), list):
        return {**doc, "steps": [{"kind": s} if isinstance(s, str) else s for s in doc["steps"]]}
    return doc


def load(name_or_path: str, overrides: Sequence[str] = ()) -> Recipe:
    """Read, override, validate and type one recipe."""
    path = resolve(name_or_path)
    try:
        doc = yamlio.load(path)
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    doc = expand_step_shorthand(doc)
    source = str(path) + (" (with --set overrides)" if overrides else "")
    if overrides:
        if not isinstance(doc, dict):
            validate_document(doc, str(path))
        doc = apply_overrides(doc, overrides)
    validate_document(doc, source)
    return _typed(path, doc, tuple(overrides))


def _section(cls: type, raw: Mapping[str, Any] | None) -> Any:
    return cls(**raw) if raw is not None else None


def _batch(raw: Mapping[str, Any] | None) -> BatchParams | None:
    if raw is None:
        return None
    values = dict(raw)
    settings = values.pop("settings", {}) or {}
    text = {True: "true", False: "false"}
    pairs = tuple((str(k), text.get(v, str(v)) if isinstance(v, bool) else str(v)) for k, v in settings.items())
    return BatchParams(**values, settings=pairs)


def _typed(path: Path, doc: Mapping[str, Any], overrides: tuple[str, ...]) -> Recipe:
    raw = doc["params"]
    params = Params(
        resource_group=raw["resource_group"],
        location=raw["location"],
        service=ServiceParams(**raw["service"]),
        account=_section(AccountParams, raw.get("account")),
        environment=_section(EnvironmentParams, raw.get("environment")),
        model=_section(ModelParams, raw.get("model")),
        manifest=_section(ManifestParams, raw.get("manifest")),
        image=_section(ImageParams, raw.get("image")),
        smoke=_section(SmokeParams, raw.get("smoke")),
        polling=PollingParams(**raw.get("polling", {})),
        batch=_batch(raw.get("batch")),
        pipeline=_section(PipelineParams, raw.get("pipeline")),
    )
    steps = tuple(Step(s["kind"], s.get("name", s["kind"])) for s in doc["steps"])
    return Recipe(
        path=path,
        version=doc["version"],
        name=doc["name"],
        description=doc.get("description", ""),
        on_failure=doc.get("on_failure", "stop"),
        params=params,
        steps=steps,
        overrides=overrides,
    )
