"""Write the churn service's ``service_schema.json`` in the legacy Azure ML format.

Shape (legacy-az-ml.md §10.2, churn-lab.md §2.3), one line, key order ``internal, swagger, type``::

    {"input": {"input_df": {"internal": "<base64>", "swagger": {"type": "array", "items": {"type": "object",
     "properties": {<29 columns>}}, "example": [<first CSV row>]}, "type": 3}}}

Two deliberate departures from what ``generate_schema`` wrote:

* ``internal`` is base64 of a small JSON document (``column_names``, ``column_types`` as numpy dtype names,
  ``shape``), not a pickle of ``azureml.api.schema.pandasUtil.PandasSchema``.  Unpickling runs arbitrary code and
  needs the retired SDK class importable; JSON carries the same facts, is inspectable and safe to load anywhere.
  A genuine legacy container would fail to unpickle it -- those no longer exist, and our engine reads the JSON.
* Column types come from the whole column's pandas dtype, not from the one sample row.  The legacy typed
  ``callfailurerate`` as integer because the sample value was 0, so a type-checking server would reject a real
  request carrying 0.01; here it is ``{"type": "number", "format": "double"}`` and the example value is ``0.0``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from churn_model import features

PANDAS_TYPE: Final = 3  # DataTypes.PANDAS (STANDARD=0, NUMPY=1, SPARK=2, PANDAS=3)
INPUT_NAME: Final = "input_df"  # must equal run()'s parameter name
SCHEMA_FILE: Final = "service_schema.json"
INTERNAL_FORMAT: Final = "mlops-pandas-schema"


def _dtype_name(series: pd.Series) -> str:
    """Numpy-style dtype name; text columns report ``object`` as the legacy numpy dtype ``O`` did."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return np.dtype(dtype).name
    return "object"


def swagger_type(dtype_name: str) -> dict[str, str]:
    """Swagger property for a numpy dtype name, following the legacy SDK's mapping."""
    if dtype_name.startswith(("int", "uint")):
        return {"type": "integer", "format": dtype_name}
    if dtype_name in ("float16", "float32"):
        return {"type": "number", "format": "float"}
    if dtype_name == "float64":
        return {"type": "number", "format": "double"}
    if dtype_name == "bool":
        return {"type": "boolean"}
    return {"type": "string"}


def _native(value: Any, dtype_name: str) -> Any:
    if dtype_name.startswith(("int", "uint")):
        return int(value)
    if dtype_name.startswith("float"):
        return float(value)
    if dtype_name == "bool":
        return bool(value)
    return str(value)


def build_schema(raw: pd.DataFrame) -> dict[str, Any]:
    """Schema dict for ``raw`` (all columns, CSV order); the example is its first row."""
    names = [str(c) for c in raw.columns]
    types = [_dtype_name(raw[c]) for c in raw.columns]
    first = raw.iloc[0]
    internal = {
        "format": INTERNAL_FORMAT,
        "version": 1,
        "column_names": names,
        "column_types": types,
        "shape": [1, len(names)],
    }
    swagger = {
        "type": "array",
        "items": {"type": "object", "properties": {n: swagger_type(t) for n, t in zip(names, types)}},
        "example": [{n: _native(first[n], t) for n, t in zip(names, types)}],
    }
    encoded = base64.b64encode(json.dumps(internal, separators=(",", ":")).encode()).decode("ascii")
    return {"input": {INPUT_NAME: {"internal": encoded, "swagger": swagger, "type": PANDAS_TYPE}}}


def decode_internal(schema: dict[str, Any]) -> dict[str, Any]:
    """Inverse of the ``internal`` encoding (for the engine and tests)."""
    decoded: dict[str, Any] = json.loads(base64.b64decode(schema["input"][INPUT_NAME]["internal"]))
    return decoded


def write_schema(path: str | Path = SCHEMA_FILE, data: str | Path = features.DEFAULT_CSV) -> dict[str, Any]:
    """Build the schema from the CSV and write it as one line (plain ``json.dump``, like ``generate_schema``)."""
    schema = build_schema(features.read_raw(data))
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(schema, fh)
    return schema


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: write the schema (default ./service_schema.json) and print the lab's "Schema generated"."""
    parser = argparse.ArgumentParser(prog="python -m churn_model.schema", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(features.DEFAULT_CSV), help="CSV whose first row is the example"
    )
    parser.add_argument("--out", "--output", dest="out", default=SCHEMA_FILE, help="output file (default: ./service_schema.json)")
    args = parser.parse_args(argv)
    try:
        write_schema(args.out, args.data)
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file; pass --data PATH", file=sys.stderr)
        return 1
    print("Schema generated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
