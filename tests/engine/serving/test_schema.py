"""Schema validation of request inputs (serving/replica/schema.py), in process: every legacy input type, every
column type, the integer formats' bounds (int64 included), missing and extra columns and arguments, and the
errors of a schema file that cannot be served."""

from __future__ import annotations

import json

import pytest

from mlops_engine.serving.replica.schema import (
    NOT_OBJECT,
    NUMPY,
    PANDAS,
    SPARK,
    STANDARD,
    InputConverter,
    InputError,
    UnsupportedInput,
    load_schema,
)


def _schema_file(tmp_path, inputs, outputs=None):
    doc = {"input": {name: {"internal": "gANjZmFrZQ==", **entry} for name, entry in inputs.items()}}
    if outputs is not None:
        doc["output"] = outputs
    path = tmp_path / "service_schema.json"
    path.write_text(json.dumps(doc))
    return path


def _converter(tmp_path, inputs, records=True):
    return InputConverter(load_schema(_schema_file(tmp_path, inputs)), records)


def _table(columns, example=None):
    """A PANDAS input (legacy type 3) whose rows have `columns` (name -> swagger property)."""
    swagger = {"type": "array", "items": {"type": "object", "properties": columns}}
    if example is not None:
        swagger["example"] = example
    return {"df": {"type": PANDAS, "swagger": swagger}}


def _rows(conv, *rows):
    return conv.convert(json.dumps({"df": list(rows)}).encode())["df"]


def _body(**inputs):
    return json.dumps(inputs).encode()


# arguments ---------------------------------------------------------------------------------------
def test_missing_and_unexpected_arguments(tmp_path):
    conv = _converter(
        tmp_path,
        {
            "a": {"type": STANDARD, "swagger": {"type": "integer", "example": 1}},
            "b": {"type": STANDARD, "swagger": {"type": "string", "example": "x"}},
        },
    )
    assert conv.convert(_body(a=2, b="y")) == {"a": 2, "b": "y"}
    with pytest.raises(InputError, match="^Argument mismatch: Missing argument\\(s\\) b$"):
        conv.convert(_body(a=2))
    with pytest.raises(InputError, match="^Argument mismatch: Unexpected argument c$"):
        conv.convert(_body(a=2, b="y", c=3))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "^Input failed JSON deserialization: "),
        (b"\xff\xfe", "^Input failed JSON deserialization: "),
        (b"[1, 2]", f"^{NOT_OBJECT}$"),
        (b'"a string"', f"^{NOT_OBJECT}$"),
    ],
)
def test_bodies_that_are_not_a_json_object(tmp_path, body, message):
    conv = _converter(tmp_path, {"a": {"type": STANDARD, "swagger": {"type": "integer", "example": 1}}})
    with pytest.raises(InputError, match=message):
        conv.convert(body)


# STANDARD (legacy type 0) ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("example", "accepted", "refused"),
    [
        ("text", ["other"], [1, None, ["text"]]),
        (7, [8, -1], [1.5, "7", None]),
        (1.5, [2.5, 2], ["1.5", None]),  # an int is a valid number
        (True, [False], [1, "true"]),
        ([1, 2], [[3], []], [{"a": 1}, "1,2"]),
        ({"k": 1}, [{"k": 2}, {}], [[1], "k"]),
    ],
    ids=["string", "integer", "number", "boolean", "array", "object"],
)
def test_standard_inputs_take_the_type_of_their_example(tmp_path, example, accepted, refused):
    conv = _converter(tmp_path, {"x": {"type": STANDARD, "swagger": {"example": example}}})
    for value in accepted:
        assert conv.convert(_body(x=value)) == {"x": value}
    for value in refused:
        with pytest.raises(InputError, match="^Failed to deserialize x to type provided by input schema"):
            conv.convert(_body(x=value))


def test_standard_inputs_without_example_or_with_a_null_one_take_anything(tmp_path):
    for swagger in ({"type": "string"}, {"type": "string", "example": None}):
        conv = _converter(tmp_path, {"x": {"type": STANDARD, "swagger": swagger}})
        for value in ("a", 1, None, [1], {"a": 1}):
            assert conv.convert(_body(x=value)) == {"x": value}


# NUMPY (legacy type 1) ---------------------------------------------------------------------------
def test_numpy_inputs_take_the_dtype_and_trailing_shape_of_their_example(tmp_path):
    swagger = {"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "example": [[1.0, 2.0]]}
    conv = _converter(tmp_path, {"vec": {"type": NUMPY, "swagger": swagger}})
    arr = conv.convert(_body(vec=[[1, 2], [3, 4], [5, 6]]))["vec"]
    assert type(arr).__name__ == "ndarray" and arr.dtype.name == "float64" and arr.shape == (3, 2)
    with pytest.raises(InputError, match="expected dimensions after the first to be \\[2\\], got \\[3\\]"):
        conv.convert(_body(vec=[[1, 2, 3]]))
    with pytest.raises(InputError, match="^Failed to deserialize vec to type provided by input schema"):
        conv.convert(_body(vec=[["a", "b"]]))


# SPARK (legacy type 2) and unknown types ---------------------------------------------------------
@pytest.mark.parametrize(("kind", "name"), [(SPARK, "SPARK"), (9, "unknown")])
def test_spark_and_unknown_inputs_are_refused_clearly(tmp_path, kind, name):
    conv = _converter(tmp_path, {"sdf": {"type": kind, "swagger": {"type": "array"}}})
    with pytest.raises(UnsupportedInput, match=f"schema type {kind} \\({name}\\), which the local engine does not"):
        conv.convert(_body(sdf=[]))


# PANDAS (legacy type 3): column types ------------------------------------------------------------
COLUMN_TYPES = [
    ({"type": "integer", "format": "int64"}, [0, -5, 2**40], [1.5, "1", True, None, [1]], "integer"),
    ({"type": "number", "format": "double"}, [0, 1.5, -2, None], ["1.5", True, {}], "number"),
    ({"type": "string"}, ["", "abc"], [1, None, False], "string"),
    ({"type": "boolean"}, [True, False], [0, 1, "true", None], "boolean"),
]


@pytest.mark.parametrize(
    ("prop", "accepted", "refused", "type_name"), COLUMN_TYPES, ids=[c[3] for c in COLUMN_TYPES]
)
def test_each_column_type_accepts_exactly_its_json_values(tmp_path, prop, accepted, refused, type_name):
    conv = _converter(tmp_path, _table({"c": prop}))
    assert [r["c"] for r in _rows(conv, *({"c": v} for v in accepted))] == accepted
    for value in refused:
        with pytest.raises(InputError, match=f"column 'c' in row 0 must be of type {type_name}, got "):
            _rows(conv, {"c": value})


def test_a_column_without_a_known_type_accepts_any_value(tmp_path):
    conv = _converter(tmp_path, _table({"any": {}, "obj": {"type": "object"}}))
    rows = [{"any": [1], "obj": None}, {"any": "x", "obj": {"k": 1}}]
    assert _rows(conv, *rows) == rows


# PANDAS: integer formats and their bounds --------------------------------------------------------
BOUNDS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


@pytest.mark.parametrize("fmt", BOUNDS)
def test_integer_formats_accept_their_range_and_refuse_one_past_it(tmp_path, fmt):
    low, high = BOUNDS[fmt]
    conv = _converter(tmp_path, _table({"n": {"type": "integer", "format": fmt}}))
    assert [r["n"] for r in _rows(conv, {"n": low}, {"n": high})] == [low, high]
    for outside in (low - 1, high + 1):
        # past 64 bits the JSON parser reads a float, so the type check answers instead of the range check
        with pytest.raises(InputError, match="column 'n' in row 0 (is out of the range|must be of type integer)"):
            _rows(conv, {"n": outside})


def test_int64_bounds_message_names_the_range(tmp_path):
    conv = _converter(tmp_path, _table({"n": {"type": "integer", "format": "int64"}}))
    with pytest.raises(InputError) as info:
        _rows(conv, {"n": 2**63})
    assert str(info.value) == (
        "Input 'df': column 'n' in row 0 is out of the range of its format "
        "[-9223372036854775808, 9223372036854775807]"
    )


def test_bounds_still_hold_for_rows_of_an_already_validated_shape(tmp_path):
    """The fast path skips the per-column loop for a known type signature; it must still check bounds."""
    conv = _converter(tmp_path, _table({"n": {"type": "integer", "format": "int8"}, "s": {"type": "string"}}))
    assert _rows(conv, {"n": 1, "s": "a"}, {"n": 2, "s": "b"}) == [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}]
    with pytest.raises(InputError, match="column 'n' in row 1 is out of the range of its format \\[-128, 127\\]"):
        _rows(conv, {"n": 3, "s": "c"}, {"n": 128, "s": "d"})
    with pytest.raises(InputError, match="column 'n' in row 0 must be of type integer, got boolean"):
        _rows(conv, {"n": True, "s": "e"})  # a new signature: the slow path checks it


def test_an_integer_without_a_known_format_is_unbounded(tmp_path):
    conv = _converter(tmp_path, _table({"n": {"type": "integer"}}))
    assert _rows(conv, {"n": 2**64 - 1}, {"n": -(2**63)}) == [{"n": 2**64 - 1}, {"n": -(2**63)}]


# PANDAS: missing and extra columns, rows that are not objects -------------------------------------
def test_a_missing_column_is_named_with_its_row(tmp_path):
    conv = _converter(tmp_path, _table({"a": {"type": "integer"}, "b": {"type": "string"}}))
    _rows(conv, {"a": 1, "b": "x"})  # teach the fast path this shape first
    with pytest.raises(InputError, match="^Input 'df': row 1 is missing column 'b'$"):
        _rows(conv, {"a": 1, "b": "x"}, {"a": 2})
    with pytest.raises(InputError, match="^Input 'df': row 0 is missing column 'b'$"):
        _rows(conv, {"a": 1, "c": "same number of keys, other names"})


def test_extra_columns_are_dropped_as_the_legacy_dataframe_did(tmp_path):
    conv = _converter(tmp_path, _table({"a": {"type": "integer"}}))
    assert _rows(conv, {"a": 1, "extra": "ignored", "more": [1]}) == [{"a": 1}]
    frame = _converter(tmp_path, _table({"a": {"type": "integer"}}), records=False)
    df = _rows(frame, {"a": 1, "extra": "ignored"})
    assert list(df.columns) == ["a"]


@pytest.mark.parametrize(("value", "message"), [({"a": 1}, "expected an array of items"), ([[1]], "item 0 of 'df'")])
def test_pandas_input_must_be_an_array_of_objects(tmp_path, value, message):
    conv = _converter(tmp_path, _table({"a": {"type": "integer"}}))
    with pytest.raises(InputError, match=message):
        conv.convert(_body(df=value))


# PANDAS: DataFrame mode ---------------------------------------------------------------------------
def test_dataframe_mode_builds_typed_columns_in_schema_order(tmp_path):
    columns = {
        "when": {"type": "string", "format": "date-time"},
        "took": {"type": "string", "format": "timedelta"},
        "n": {"type": "integer", "format": "int64"},
        "x": {"type": "number", "format": "double"},
    }
    conv = _converter(tmp_path, _table(columns), records=False)
    df = conv.convert(
        _body(df=[{"x": 1.5, "n": 2, "took": "1 days", "when": "2017-12-11T18:10:01Z"}, {
            "x": None, "n": 3, "took": "2h", "when": "2018-01-01T00:00:00Z"}])
    )["df"]
    assert list(df.columns) == ["when", "took", "n", "x"]
    kinds = [str(t) for t in df.dtypes]
    assert kinds[0].startswith("datetime64") and kinds[1].startswith("timedelta64"), kinds
    assert kinds[2:] == ["int64", "float64"]
    assert df["x"].isna().tolist() == [False, True]
    with pytest.raises(InputError, match="^Failed to deserialize df to type provided by input schema"):
        conv.convert(_body(df=[{"x": 1.0, "n": 1, "took": "1 days", "when": "not a date"}]))


# the schema file itself ---------------------------------------------------------------------------
def test_schema_sections_and_kinds_are_read_from_the_swagger_part_only(tmp_path):
    out = {"prediction": {"internal": "x", "type": STANDARD, "swagger": {"type": "string", "example": "0"}}}
    schema = load_schema(_schema_file(tmp_path, _table({"a": {"type": "integer"}}), out))
    assert schema.inputs["df"].kind == PANDAS and schema.needs_pandas and not schema.needs_numpy
    assert schema.inputs["df"].columns == (("a", (int,), None),)
    assert schema.outputs["prediction"].swagger == {"type": "string", "example": "0"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "expected a JSON object"),
        ({"input": ["df"]}, "schema section must be an object"),
        ({"input": {"df": {"type": 3}}}, "schema entry 'df' has no swagger definition"),
        ({"input": {"df": {"type": [3], "swagger": {}}}}, "schema entry 'df': type must be a number"),
        ({"input": {"df": {"type": 3, "swagger": {"items": []}}}}, "schema entry 'df': items must be an object"),
        (
            {"input": {"df": {"type": 3, "swagger": {"items": {"properties": {"a": 1}}}}}},
            "schema entry 'df': column 'a' must be an object",
        ),
        (
            {"input": {"df": {"type": 3, "swagger": {"items": {"properties": {"a": {"type": ["integer"]}}}}}}},
            "schema entry 'df': column 'a' has a type that is not a string",
        ),
    ],
)
def test_a_schema_that_cannot_be_served_fails_with_what_is_wrong(tmp_path, doc, message):
    path = tmp_path / "service_schema.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TypeError, match=message):
        load_schema(path)
