"""JSON as the replica reads it (service_schema.json, image.json) and serves it (swagger.json).

Why this shape: these documents come from outside (the user's schema file), so their type is the JSON
data model itself, narrowed with isinstance where a value is used, never `Any`. Request bodies are
typed `object`: the converter checks each value against the schema before run() sees it.
"""

from __future__ import annotations

from typing import TypeAlias

Json: TypeAlias = "dict[str, Json] | list[Json] | str | int | float | bool | None"
JsonObject: TypeAlias = "dict[str, Json]"
