"""Swagger 2.0 document served at `swagger.json`, shaped like the legacy SDK's generator (legacy reference 8.3).

Why this shape: the legacy CLI reads `definitions.ServiceInput.example` to build its `-d` sample, so the
definitions must keep the legacy layout exactly. The document is built once at start-up and served as
pre-encoded bytes.
"""

from __future__ import annotations

from typing import Final

from .jsontypes import Json, JsonObject
from .schema import PANDAS, InputSpec, Schema, swagger_without_example

_ERROR_RESPONSE: Final[JsonObject] = {
    "type": "object",
    "properties": {
        "status_code": {"type": "integer", "format": "int32"},
        "message": {"type": "string"},
    },
}


def route_prefix(mode: str, service_name: str) -> str:
    """'' in local mode, '/api/v1/service/<name>' in cluster mode (legacy reference 8.1)."""
    return f"/api/v1/service/{service_name}" if mode == "cluster" else ""


def _definition(specs: dict[str, InputSpec], enforced: bool = False) -> JsonObject:
    if not specs:
        return {"type": "object"}
    definition: JsonObject = {
        "type": "object",
        "properties": {name: _enforced(s) if enforced else swagger_without_example(s) for name, s in specs.items()},
    }
    if enforced:  # the replica answers 400 to a missing or an unknown argument (schema.InputConverter.convert)
        definition["required"] = list[Json](specs)
        definition["additionalProperties"] = False
    examples: JsonObject = {name: s.swagger["example"] for name, s in specs.items() if "example" in s.swagger}
    if examples:
        definition["example"] = examples
    return definition


def _enforced(spec: InputSpec) -> JsonObject:
    """An input's swagger plus the row contract the replica enforces on PANDAS inputs: every row carries every
    column, and an integer column stays within its format's range (int64 ...), so that a client generated from
    the document sends only requests the service accepts."""
    doc = swagger_without_example(spec)
    items = doc.get("items")
    if spec.kind != PANDAS or not isinstance(items, dict):
        return doc
    declared = items.get("properties")
    props: JsonObject = {
        name: dict(prop) if isinstance(prop, dict) else prop
        for name, prop in (declared.items() if isinstance(declared, dict) else ())
    }
    for column, _types, bounds in spec.columns:
        prop = props.get(column)
        if bounds is not None and isinstance(prop, dict):
            prop.update(minimum=bounds[0], maximum=bounds[1])
    required: list[Json] = [column for column, _types, _bounds in spec.columns]
    return {**doc, "items": {**items, "properties": props, "required": required}}


def build_swagger(service_name: str, mode: str, schema: Schema | None) -> JsonObject:
    prefix = route_prefix(mode, service_name)
    default_error: Json = {
        "description": "The service failed to execute due to an error.",
        "schema": {"$ref": "#/definitions/ErrorResponse"},
    }
    body_param: JsonObject = {
        "name": "serviceInputPayload",
        "in": "body",
        "description": "The input payload for executing the real-time machine learning service.",
        "schema": {"$ref": "#/definitions/ServiceInput"},
    }
    if schema is not None:  # a schema'd service parses the body as JSON: an empty body is a 400
        body_param["required"] = True
    score_op: JsonObject = {
        "operationId": "RunMLService",
        "description": "Run web service's model and get the prediction output",
        "parameters": [body_param],
        "responses": {
            "200": {
                "description": "The service processed the input correctly and provided a result prediction, if applicable.",
                "schema": {"$ref": "#/definitions/ServiceOutput"},
            },
            "default": default_error,
        },
    }
    doc: JsonObject = {
        "swagger": "2.0",
        "info": {
            "title": service_name or "ML service",
            "description": f"API specification for the Azure Machine Learning service {service_name}",
            "version": "1.0",
        },
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
    }
    if mode == "cluster":
        doc["securityDefinitions"] = {
            "Bearer": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "For example: Bearer abc123",
            }
        }
        score_op["security"] = [{"Bearer": []}]
    doc["paths"] = {
        f"{prefix}/": {
            "get": {
                "operationId": "ServiceHealthCheck",
                "description": "Simple health check endpoint to ensure the service is up at any given point.",
                "responses": {
                    "200": {
                        "description": "If service is up and running, this response will be returned with the content 'Healthy'",
                        "schema": {"type": "string"},
                        "examples": {"application/json": "Healthy"},
                    },
                    "default": default_error,
                },
            }
        },
        f"{prefix}/score": {"post": score_op},
    }
    doc["definitions"] = {
        "ServiceInput": _definition(schema.inputs if schema else {}, enforced=True),
        "ServiceOutput": _definition(schema.outputs if schema else {}),
        "ErrorResponse": _ERROR_RESPONSE,
    }
    return doc
