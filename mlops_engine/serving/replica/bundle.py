"""Load an image bundle (docs/engine-api.md section 3) and the user's scoring module.

Why this shape: the legacy container ran score.py from the directory holding the unpacked models, so
we chdir into `app/` and put it first on sys.path before importing the driver; the schema is read
before init() so a broken schema fails the replica at start-up (init_failed), not on the first request.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Protocol

from .jsontypes import Json
from .schema import Schema, load_schema

RECORDS: str = "records"  # value of a score module's MLOPS_INPUT that selects the list-of-dicts fast path


class RunFunction(Protocol):
    """The user's run(): called with the raw body text, or with one keyword argument per schema input."""

    def __call__(self, *args: object, **kwargs: object) -> object: ...


@dataclass(frozen=True)
class LoadedBundle:
    """The user's scoring module after init(), with what the replica needs to call its run()."""

    driver: str  # the module's file name in app/, e.g. score.py
    module: ModuleType
    run: RunFunction
    schema: Schema | None
    records: bool  # PANDAS inputs are passed as validated row dicts instead of DataFrames


def load_bundle(bundle_dir: Path) -> LoadedBundle:
    """Import the driver and call its init(); any exception propagates (the caller reports init_failed)."""
    bundle_dir = bundle_dir.resolve()
    image: Json = json.loads((bundle_dir / "image.json").read_text(encoding="utf-8"))
    if not isinstance(image, dict):
        raise TypeError("image.json: expected a JSON object")
    app_dir = bundle_dir / "app"
    driver = str(image.get("driver") or "score.py")
    # image.json names the schema (null = the user gave none); older bundles without the key fall back
    # to a service_schema.json next to the driver.
    schema_name = image.get("schema", "service_schema.json")
    if schema_name is not None and not isinstance(schema_name, str):
        raise TypeError(f"image.json: schema must be a file name or null, got {schema_name!r}")
    schema = None
    if schema_name and (app_dir / schema_name).is_file():
        schema = load_schema(app_dir / schema_name)
    elif schema_name and "schema" in image:
        raise FileNotFoundError(f"schema file {schema_name} named by image.json is missing from app/")
    os.chdir(app_dir)
    sys.path.insert(0, str(app_dir))
    module_name = driver.removesuffix(".py")
    module = importlib.import_module(module_name)
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"{driver} does not define a run() function")
    records = getattr(module, "MLOPS_INPUT", None) == RECORDS
    init = getattr(module, "init", None)
    if callable(init):
        init()
    return LoadedBundle(driver=driver, module=module, run=run, schema=schema, records=records)
