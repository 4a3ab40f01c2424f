"""JSON values as the daemon's type checker sees them (instead of `Any`): what json.loads returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JSON: TypeAlias = "None | bool | int | float | str | Sequence[JSON] | Mapping[str, JSON]"
JSONObject: TypeAlias = Mapping[str, JSON]
