"""The Model Management service's value limits for services, as pure checks (legacy reference 9.1, 11).

Messages quote nothing (the legacy CLI shows the body as a bytes repr, where quotes come out escaped).
Each check raises the daemon's 400 `ApiError` (`{"code": "BadRequest", "statusCode": 400, "message"}`)
for a value MMS rejected, before anything is stored or started; the CLI prints it as the legacy CLI
printed any MMS error (`Error occurred creating service.` with the response). Sources:
* names: 3-32 characters, lowercase letters, digits, '-' and '.', a letter or digit at both ends
  (MMS validation as documented in the troubleshooting guide of the time, reference 11);
* `numReplicas >= 0` and not together with autoscale; `autoScaler.minReplicas >= 0`, `maxReplicas >= 1`,
  `refreshPeriodInSeconds >= 1`, `targetUtilization` 0-100; `maxConcurrentRequestsPerContainer >= 1`
  (the MMS API reference, reference 9.1);
* `containerResourceReservation`: `cpu` a number of cores (a fraction allowed), `memory` an amount in M or
  G such as `1G` or `300M` (the CLI's help for `--cpu` / `--memory`, which MMS passed to Kubernetes).
Two rules are the local engine's own, not MMS's: `numReplicas` 0 (a service with no replica) is refused,
because a local service always runs at least one replica; and model names are 1-255 letters, digits, '_',
'-' and '.', starting with a letter, digit or '_', because a model file is placed in the image under its
name (`.`, `..` or 5,000 characters broke the build later; docs/compatibility.md).
"""

from __future__ import annotations

import json
import re
from typing import Final

from ..errors import bad_request
from ..jsonvalue import JSON, JSONObject

SERVICE_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,30}[a-z0-9]$")
MODEL_NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")
CPU: Final = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
MEMORY: Final = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[MG]$")
SETTINGS: Final = (
    "numReplicas",
    "appInsightsEnabled",
    "dataCollection",
    "autoScaler",
    "containerResourceReservation",
    "maxConcurrentRequestsPerContainer",
)
_AUTOSCALER_BOUNDS: Final = {
    "minReplicas": (0, None),
    "maxReplicas": (1, None),
    "targetUtilization": (0, 100),
    "refreshPeriodInSeconds": (1, None),
}


def service_name(name: str) -> None:
    """A service name MMS accepts."""
    if not SERVICE_NAME.fullmatch(name):
        raise bad_request(
            f"Service Name: {name} is invalid. The name of a service must consist of lower case alphanumeric "
            "characters, dashes or dots, start and end with an alphanumeric character, and be between 3 and 32 "
            "characters long."
        )


def model_name(name: str) -> None:
    """A model name the engine can register and later place in an image (the engine's own rule, see below)."""
    if not MODEL_NAME.fullmatch(name):
        shown = name if len(name) <= 64 else f"{name[:40]}... ({len(name)} characters)"
        raise bad_request(
            f"Model Name: {shown} is invalid. The name of a model must consist of letters, digits, underscores, "
            "dashes or dots, start with a letter, a digit or an underscore, and be between 1 and 255 characters "
            "long."
        )


def _shown(value: JSON) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _integer(field: str, value: JSON, low: int, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"greater than or equal to {low}"
        raise bad_request(f"Invalid value for {field}: {_shown(value)}. It must be an integer {bound}.")
    return value


def _boolean(field: str, value: JSON) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"Invalid value for {field}: {_shown(value)}. It must be true or false.")
    return value


def _object(field: str, value: JSON) -> JSONObject:
    if not isinstance(value, dict):
        raise bad_request(f"Invalid value for {field}: {_shown(value)}. It must be a JSON object.")
    return value


def _quantity(field: str, value: JSON, pattern: re.Pattern[str], example: str) -> None:
    text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not pattern.fullmatch(text) or float(text.rstrip("MG")) <= 0:
        raise bad_request(f"Invalid value for {field}: {_shown(value)}. It must be {example}.")


def autoscaler(value: JSON) -> None:
    """`autoScaler`: `autoscaleEnabled` a boolean, replica bounds and utilization in range, min <= max."""
    scaler = _object("autoScaler", value)
    if scaler.get("autoscaleEnabled") is not None:
        _boolean("autoScaler.autoscaleEnabled", scaler["autoscaleEnabled"])
    bounds = {
        key: _integer(f"autoScaler.{key}", scaler[key], low, high)
        for key, (low, high) in _AUTOSCALER_BOUNDS.items()
        if scaler.get(key) is not None
    }
    low_n, high_n = bounds.get("minReplicas"), bounds.get("maxReplicas")
    if low_n is not None and high_n is not None and low_n > high_n:
        raise bad_request(
            f"Invalid autoScaler: minReplicas ({low_n}) must be less than or equal to maxReplicas ({high_n})."
        )


def reservation(value: JSON) -> None:
    """`containerResourceReservation`: cpu cores (a fraction allowed) and memory in M or G."""
    reserved = _object("containerResourceReservation", value)
    if reserved.get("cpu") is not None:
        _quantity("containerResourceReservation.cpu", reserved["cpu"], CPU,
                  "a number of CPU cores greater than 0, such as 0.5 or 2")
    if reserved.get("memory") is not None:
        _quantity("containerResourceReservation.memory", reserved["memory"], MEMORY,
                  "an amount of memory in M or G greater than 0, such as 300M or 1G")


def service_settings(body: JSONObject) -> dict[str, JSON]:
    """The settings of a service create or update request that are present, each within the MMS limits."""
    out = {key: body[key] for key in SETTINGS if body.get(key) is not None}
    scaler = out.get("autoScaler")
    if scaler is not None:
        autoscaler(scaler)
    if "numReplicas" in out:
        _integer("numReplicas", out["numReplicas"], 0)
        if isinstance(scaler, dict) and scaler.get("autoscaleEnabled") is True:
            raise bad_request("numReplicas cannot be set when autoScaler.autoscaleEnabled is true: the "
                              "autoscaler decides the number of replicas (set minReplicas/maxReplicas instead).")
        if out["numReplicas"] == 0:  # the local engine's own rule (see the module docstring)
            raise bad_request("numReplicas 0 is not supported by the local engine: a service runs at least one "
                              "replica. Omit numReplicas for the default (1).")
    if "appInsightsEnabled" in out:
        _boolean("appInsightsEnabled", out["appInsightsEnabled"])
    if "dataCollection" in out:
        collection = _object("dataCollection", out["dataCollection"])
        for key in ("storageEnabled", "eventHubEnabled"):
            if collection.get(key) is not None:
                _boolean(f"dataCollection.{key}", collection[key])
    if "containerResourceReservation" in out:
        reservation(out["containerResourceReservation"])
    if "maxConcurrentRequestsPerContainer" in out:
        _integer("maxConcurrentRequestsPerContainer", out["maxConcurrentRequestsPerContainer"], 1)
    return out
