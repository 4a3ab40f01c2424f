"""Scoring script for the churn service: the lab's ``init()`` / ``run(input_df)`` contract, corrected and fast.

Contract (lab 04.1 / 04.2, churn-lab.md §2.1 and §3.3): the request body is ``{"input_df": [{29 columns}, ...]}``;
``run`` returns a *JSON text*.  For one row that is ``json.dumps("0")`` -- the str ``'"0"'`` -- exactly as the
legacy ``json.dumps(str(pred[0]))``; the replica JSON-encodes it again and ``az ml service run`` prints the decoded
value, so the lab's promised answer ``"0"`` (with quotes) appears.  Extension: for N != 1 rows ``run`` returns
``json.dumps([label, ...])``, one label string per row, in request order.

Corrections to the legacy script: every row is scored with its own one-hot encoding (the legacy set a dummy for
every value seen anywhere in the batch, for all rows, and answered only for row 0); a category value not seen in
training encodes as all-zero dummies for that column instead of crashing ``predict``; ``churn``/``year``/``month``
are ignored when present and not required; missing numeric values count as 0, as training's ``fillna(0)`` did.

This file ships alone next to ``model.pkl`` (``-f score.py``), so it imports nothing from ``churn_model`` and not
pandas: it needs only the standard library, numpy and scikit-learn (for unpickling the estimator).  The only module
state is the model and its precomputed encoding, set by ``init()`` and read-only afterwards.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

# Tells the mlops engine's replica to pass a list of validated row dicts (schema order) instead of a DataFrame.
MLOPS_INPUT: Final = "records"
MODEL_FILE: Final = "model.pkl"
ARTIFACT_FORMAT: Final = "mlops-churn-model"
INPUT_NAME: Final = "input_df"

_model: Any = None
_width: int = 0
_numeric_columns: tuple[str, ...] = ()
_numeric_index: Any = None  # numpy int array: feature index of each numeric column
_categorical: tuple[tuple[str, dict[str, int]], ...] = ()  # (column, {level: dummy feature index})


def _candidates(model_path: str | os.PathLike[str] | None) -> list[Path]:
    if model_path is not None:
        return [Path(model_path)]
    found: list[Path] = []
    env = os.environ.get("AZUREML_MODEL_DIR")
    if env:  # an explicit deployment setting wins over the legacy "model.pkl in the working directory"
        found.append(Path(env) if env.endswith(".pkl") else Path(env) / MODEL_FILE)
    here = Path(__file__).resolve().parent
    found += [Path.cwd() / MODEL_FILE, here / MODEL_FILE, here / "outputs" / MODEL_FILE]
    return found


def init(model_path: str | os.PathLike[str] | None = None) -> None:
    """Load model.pkl and precompute the feature index of every numeric column and every (column, level) dummy.

    Looked up, first hit wins: ``model_path`` if given; ``$AZUREML_MODEL_DIR/model.pkl`` (or the variable itself if
    it names a .pkl file); ``./model.pkl`` (the legacy image layout); ``model.pkl`` and ``outputs/model.pkl`` next to
    this file (a student running it straight after training).
    """
    global _model, _width, _numeric_columns, _numeric_index, _categorical
    candidates = _candidates(model_path)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        tried = ", ".join(str(p) for p in candidates)
        raise FileNotFoundError(
            f"model.pkl not found (tried {tried}); train first: python -m churn_model.train"
        )
    with path.open("rb") as fh:
        artifact = pickle.load(fh)
    if not isinstance(artifact, dict) or artifact.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"{path} is not an {ARTIFACT_FORMAT} artifact (a dict written by churn_model.train)")
    index = {name: i for i, name in enumerate(artifact["features"])}
    _numeric_columns = tuple(artifact["numeric_features"])
    _numeric_index = np.array([index[col] for col in _numeric_columns], dtype=np.intp)
    _categorical = tuple(
        (col, {level: index[f"{col}_{level}"] for level in levels})
        for col, levels in artifact["categories"].items()
    )
    _width = len(index)
    _model = artifact["model"]


def _records(input_df: Any) -> Sequence[Mapping[str, Any]]:
    """Normalise the accepted inputs to a sequence of row mappings."""
    if isinstance(input_df, list):
        return input_df
    if isinstance(input_df, (str, bytes, bytearray)):  # raw-body servers hand over the request text
        try:
            input_df = json.loads(input_df)
        except ValueError as exc:
            raise ValueError(f"request body is not valid JSON: {exc}") from None
        if isinstance(input_df, list):
            return input_df
    if isinstance(input_df, dict):
        rows = input_df.get(INPUT_NAME)
        if isinstance(rows, list):
            return rows
        raise ValueError(f'expected {{"{INPUT_NAME}": [row objects]}}, got keys {sorted(input_df)}')
    # pandas.DataFrame (the legacy server's input), duck-typed so that this module never imports pandas
    if hasattr(input_df, "to_dict") and hasattr(input_df, "columns"):
        records: list[Mapping[str, Any]] = input_df.to_dict("records")
        return records
    raise ValueError(f"unsupported input type {type(input_df).__name__}; send a list of row objects")


def _encode(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Build the (n_rows, 86) float64 design matrix.

    Plain Python loops collect the numeric values and the flat positions of the dummies that are set; numpy then
    converts them in two calls (cheaper than converting a dense list of n*86 Python floats).
    """
    width = _width
    numeric: list[list[Any]] = []
    hot: list[int] = []
    base = 0
    try:
        for row in rows:
            numeric.append([row[col] for col in _numeric_columns])
            for col, levels in _categorical:
                j = levels.get(row[col])  # unseen level -> no dummy set (all-zero for this column)
                if j is not None:
                    hot.append(base + j)
            base += width
        values = np.array(numeric, dtype=np.float64)  # None -> NaN; numeric strings are parsed
        if values.ndim != 2:  # e.g. every numeric value a same-length list
            raise TypeError("non-scalar numeric values")
    except (KeyError, TypeError, ValueError):
        raise _explain(rows) from None
    values[np.isnan(values)] = 0.0  # missing -> 0, like training's fillna(0)
    out = np.zeros((len(rows), width), dtype=np.float64)
    out[:, _numeric_index] = values
    out.flat[hot] = 1.0
    return out


def _explain(rows: Sequence[Mapping[str, Any]]) -> ValueError:
    """Slow path, only after a failure: name the row and column that made encoding fail."""
    for r, row in enumerate(rows):
        for col in (*_numeric_columns, *(c for c, _ in _categorical)):
            if col not in row:
                return ValueError(f"row {r}: missing column {col!r}")
        for col in _numeric_columns:
            value = row[col]
            try:
                float(0.0 if value is None else value)
            except (TypeError, ValueError):
                return ValueError(f"row {r}: column {col!r}: expected a number, got {value!r}")
        for col, levels in _categorical:
            try:
                levels.get(row[col])
            except TypeError:
                return ValueError(f"row {r}: column {col!r}: expected a string, got {row[col]!r}")
    return ValueError("input rows could not be encoded")


def run(input_df: Any) -> str:
    """Score rows; return ``json.dumps(label)`` for one row (legacy contract) or ``json.dumps([labels])`` otherwise.

    ``input_df`` may be a list of row dicts (``MLOPS_INPUT = "records"``), a pandas DataFrame (legacy servers), or
    the JSON request body as str/bytes (``{"input_df": [...]}``) or already parsed.
    """
    if _model is None:
        raise RuntimeError("init() has not been called")
    rows = _records(input_df)
    if not rows:
        return "[]"
    if not all(isinstance(row, Mapping) for row in rows):
        raise ValueError(f"{INPUT_NAME} must be a list of row objects")
    labels = [str(p) for p in _model.predict(_encode(rows)).tolist()]
    return json.dumps(labels[0] if len(labels) == 1 else labels)


SAMPLE_REQUEST: Final = (
    '{"input_df": [{"age": 12, "annualincome": 168147, "calldroprate": 0.06, "callfailurerate": 0, '
    '"callingnum": 4251078442, "customerid": 1, "customersuspended": "Yes", "education": "Bachelor or equivalent", '
    '"gender": "Male", "homeowner": "Yes", "maritalstatus": "Single", "monthlybilledamount": 71, '
    '"noadditionallines": "\\\\N", "numberofcomplaints": 0, "numberofmonthunpaid": 7, '
    '"numdayscontractequipmentplanexpiring": 96, "occupation": "Technology Related Job", "penaltytoswitch": 371, '
    '"state": "WA", "totalminsusedinlastmonth": 15, "unpaidbalance": 19, "usesinternetservice": "No", '
    '"usesvoiceservice": "No", "percentagecalloutsidenetwork": 0.82, "totalcallduration": 5971, '
    '"avgcallduration": 663, "churn": 0, "year": 2015, "month": 1}]}'
)

if __name__ == "__main__":  # the lab's smoke test, with a request that works (the legacy one passed "{}")
    init()
    print(run(SAMPLE_REQUEST))
