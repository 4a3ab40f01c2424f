from __future__ import annotations

import base64
import json

import jsonschema
import pytest

from churn_model import schema, score


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "service_schema.json"
    schema.write_schema(path)
    return path


def _request_schema(doc):
    swagger = doc["input"]["input_df"]["swagger"]
    items = dict(swagger["items"], required=list(swagger["items"]["properties"]))
    return {"type": "object", "properties": {"input_df": {"type": "array", "items": items}}, "required": ["input_df"],
            "additionalProperties": False}  # fmt: skip


def test_legacy_layout(written):
    text = written.read_text()
    assert "\n" not in text.strip()
    doc = json.loads(text)
    assert list(doc) == ["input"] and list(doc["input"]) == ["input_df"]
    entry = doc["input"]["input_df"]
    assert list(entry) == ["internal", "swagger", "type"] and entry["type"] == 3
    swagger = entry["swagger"]
    assert swagger["type"] == "array" and swagger["items"]["type"] == "object"
    assert len(swagger["items"]["properties"]) == 29 and len(swagger["example"]) == 1


def test_column_types(written, raw):
    props = json.loads(written.read_text())["input"]["input_df"]["swagger"]["items"]["properties"]
    assert list(props) == list(raw.columns)
    assert props["age"] == {"type": "integer", "format": "int64"}
    assert props["calldroprate"] == {"type": "number", "format": "double"}
    assert props["callfailurerate"] == {"type": "number", "format": "double"}  # deliberate correction
    assert props["state"] == {"type": "string"}
    kinds = [p["type"] for p in props.values()]
    assert (kinds.count("integer"), kinds.count("number"), kinds.count("string")) == (16, 3, 10)


def test_internal_is_json_not_pickle(written, raw):
    blob = base64.b64decode(json.loads(written.read_text())["input"]["input_df"]["internal"])
    assert not blob.startswith(b"\x80")  # no pickle opcode
    internal = json.loads(blob)
    assert internal["column_names"] == list(raw.columns) and internal["shape"] == [1, 29]
    assert internal["column_types"][3] == "float64" and internal["column_types"][6] == "object"
    assert schema.decode_internal(json.loads(written.read_text())) == internal


def test_example_is_first_csv_row_and_validates(written, raw):
    doc = json.loads(written.read_text())
    example = doc["input"]["input_df"]["swagger"]["example"]
    assert example[0]["customerid"] == 1 and example[0]["noadditionallines"] == "\\N"
    assert example[0]["callfailurerate"] == 0.0 and isinstance(example[0]["age"], int)
    jsonschema.validate({"input_df": example}, _request_schema(doc))


def test_lab_requests_validate(written):
    doc = json.loads(written.read_text())
    request = json.loads(score.SAMPLE_REQUEST)
    jsonschema.validate(request, _request_schema(doc))
    request["input_df"][0]["callfailurerate"] = 0.01  # rejected by the legacy integer typing
    jsonschema.validate(request, _request_schema(doc))
    request["input_df"][0]["age"] = "twelve"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(request, _request_schema(doc))


def test_cli(tmp_path, capsys):
    assert schema.main(["--out", str(tmp_path / "s.json")]) == 0
    assert capsys.readouterr().out == "Schema generated\n"
    assert schema.main(["--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "t.json")]) == 1
