"""Pure parsers for everything the orchestrator reads from the `az ml` CLI (convention 5).

Each `parse_*` takes the command's display name (for error messages) and its stdout, and returns a
frozen dataclass (`azrecords`, re-exported here) or raises `UnexpectedOutputError`. Formats:
legacy-az-ml.md sections 4-8.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, cast

from orchestrator.azrecords import (
    Account,
    AccountJson,
    Deployed,
    Environment,
    EnvJson,
    Image,
    ImageJson,
    Manifest,
    ManifestJson,
    Model,
    ModelJson,
    Progress,
    Service,
    ServiceJson,
    Table,
)
from orchestrator.errors import UnexpectedOutputError

__all__ = [
    "Account",
    "AccountJson",
    "Deployed",
    "EnvJson",
    "Environment",
    "Image",
    "ImageJson",
    "Manifest",
    "ManifestJson",
    "Model",
    "ModelJson",
    "Progress",
    "Service",
    "ServiceJson",
    "Table",
]

LOCAL_PREFIX: Final = "[Local mode] "

# --- helpers ------------------------------------------------------------------------------------


def _json(command: str, stdout: str) -> Any:
    try:
        return json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise UnexpectedOutputError(command, f"not JSON ({exc.msg} at line {exc.lineno})", stdout) from None


def _field(command: str, obj: Any, key: str, kind: type | tuple[type, ...], stdout: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise UnexpectedOutputError(command, f"missing key {key!r}", stdout)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UnexpectedOutputError(command, f"key {key!r} has type {type(value).__name__}", stdout)
    return value


def _lines(stdout: str) -> list[str]:
    return [line.removeprefix(LOCAL_PREFIX).rstrip() for line in stdout.splitlines()]


# --- JSON outputs -------------------------------------------------------------------------------


def parse_account(command: str, stdout: str) -> Account:
    """`account modelmanagement show|set|create` (snake_case; `resourceGroup` or `resource_group`)."""
    raw = cast(AccountJson, _json(command, stdout))
    group = raw.get("resourceGroup") or raw.get("resource_group") if isinstance(raw, dict) else None
    if not isinstance(group, str):
        raise UnexpectedOutputError(command, "missing key 'resourceGroup'", stdout)
    return Account(
        _field(command, raw, "name", str, stdout), group, _field(command, raw, "location", str, stdout)
    )


def _provisioning_errors(raw: Any) -> tuple[str, ...]:
    out: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        err = item.get("error", item) if isinstance(item, dict) else {}
        if not isinstance(err, dict):
            out.append(str(item))
            continue
        text = f"{err.get('code', 'Error')}: {err.get('message', '')}".rstrip(": ")
        details = [
            f"{d.get('code')}: {d.get('message')}" for d in err.get("details", []) if isinstance(d, dict)
        ]
        out.append(text + (f" ({'; '.join(details)})" if details else ""))
    return tuple(out)


def parse_env(command: str, stdout: str) -> Environment:
    """`env show` (non-verbose, title-case keys)."""
    raw = cast(EnvJson, _json(command, stdout))
    size = raw.get("Cluster Size") if isinstance(raw, dict) else None
    return Environment(
        name=_field(command, raw, "Cluster Name", str, stdout),
        resource_group=_field(command, raw, "Resource Group", str, stdout),
        location=_field(command, raw, "Location", str, stdout),
        state=_field(command, raw, "Provisioning State", str, stdout),
        errors=_provisioning_errors(raw.get("Provisioning Errors")),
        cluster_size=size if isinstance(size, int) else None,
    )


def parse_model(command: str, stdout: str) -> Model:
    """`model show -m ID` (one object)."""
    raw = cast(ModelJson, _json(command, stdout))
    return Model(
        _field(command, raw, "Id", str, stdout),
        _field(command, raw, "Name", str, stdout),
        _field(command, raw, "Version", int, stdout),
    )


def parse_manifest(command: str, stdout: str) -> Manifest:
    """`manifest show -i ID`."""
    raw = cast(ManifestJson, _json(command, stdout))
    ids = _field(command, raw, "ModelIds", list, stdout)
    return Manifest(
        _field(command, raw, "Id", str, stdout),
        _field(command, raw, "Name", str, stdout),
        _field(command, raw, "Version", int, stdout),
        tuple(str(i) for i in ids),
    )


def parse_image(command: str, stdout: str) -> Image:
    """`image show -i ID`."""
    raw = cast(ImageJson, _json(command, stdout))
    manifest_name = raw.get("Manifest_Name") if isinstance(raw, dict) else None
    return Image(
        _field(command, raw, "Id", str, stdout),
        _field(command, raw, "Name", str, stdout),
        _field(command, raw, "Version", int, stdout),
        _field(command, raw, "CreationState", str, stdout),
        manifest_name if isinstance(manifest_name, str) else None,
    )


def _service(command: str, raw: Any, stdout: str) -> Service:
    image = raw.get("Image") if isinstance(raw, dict) else None
    image_id = image.get("Id") if isinstance(image, dict) else None
    image_version = image.get("Version") if isinstance(image, dict) else None
    url = raw.get("Image_URL") or (image.get("ImageLocation") if isinstance(image, dict) else None)
    models = raw.get("Models")
    return Service(
        id=_field(command, raw, "Id", str, stdout),
        name=_field(command, raw, "Name", str, stdout),
        state=_field(command, raw, "State", str, stdout),
        image_url=url if isinstance(url, str) else None,
        models=models if isinstance(models, str) else None,
        image_id=image_id if isinstance(image_id, str) else None,
        image_version=image_version if isinstance(image_version, int) else None,
        scoring_uri=raw.get("ScoringUri") if isinstance(raw.get("ScoringUri"), str) else None,
    )


def parse_services(command: str, stdout: str) -> tuple[Service, ...]:
    """`service show realtime -n NAME` (a list), `-i ID` (an object, or nothing when unknown), `-i ID -v`."""
    if not stdout.strip():
        return ()  # legacy quirk: an unknown id prints nothing and exits 0
    raw = _json(command, stdout)
    items = raw if isinstance(raw, list) else [raw]
    return tuple(_service(command, cast(ServiceJson, item), stdout) for item in items)


# --- text outputs -------------------------------------------------------------------------------

_ID_LINE: Final = re.compile(r"^Id: (\S+)$")
_PROGRESS: Final = re.compile(
    r"^(Creating|Updating) (image|service)(\.*)(?:\[Debug\][^\n]*)?(Done\.?|Failed)?$"
)
_LOCAL_DONE: Final = re.compile(r"^Done$")


def parse_created_id(command: str, stdout: str) -> str:
    """`model register` / `manifest create`: the `Id: ...` line (with or without `[Local mode] `)."""
    for line in _lines(stdout):
        match = _ID_LINE.match(line)
        if match:
            return match.group(1)
    raise UnexpectedOutputError(command, "no 'Id: ...' line", stdout)


def parse_progress(command: str, stdout: str) -> Progress | None:
    """The `Creating image...Done.` / `Updating service...Failed` line, if any (dots = polls)."""
    lines = _lines(stdout)
    for index, line in enumerate(lines):
        match = _PROGRESS.match(line)
        if not match:
            continue
        verb, noun, dots, outcome = match.groups()
        if outcome is None and index + 1 < len(lines) and lines[index + 1] in ("Done", "Done.", "Failed"):
            outcome = lines[index + 1]  # `-v` prints a [Debug] line before Done
        if outcome is None:
            raise UnexpectedOutputError(command, f"unfinished progress line {line!r}", stdout)
        return Progress(verb, noun, len(dots), outcome.rstrip("."))
    return None


def parse_image_created(command: str, stdout: str) -> str:
    """`image create`: `Creating image...Done.` then `Image ID: ...`."""
    progress = parse_progress(command, stdout)
    if progress is not None and progress.outcome != "Done":
        raise UnexpectedOutputError(command, f"image build {progress.outcome}", stdout)
    for line in _lines(stdout):
        if line.startswith("Image ID: "):
            return line.removeprefix("Image ID: ").strip()
    raise UnexpectedOutputError(command, "no 'Image ID: ...' line", stdout)


def parse_deployed(command: str, stdout: str) -> Deployed:
    """`service create|update realtime`: cluster lines or `[Local mode] ` lines, ending with `Service ID: ...`."""
    progress = parse_progress(command, stdout)
    if progress is not None and progress.outcome != "Done":
        raise UnexpectedOutputError(command, f"service {progress.verb.lower()} {progress.outcome}", stdout)
    local = any(line.startswith(LOCAL_PREFIX) for line in stdout.splitlines())
    service_id = usage = None
    for line in _lines(stdout):
        if line.startswith("Service ID: "):
            service_id = line.removeprefix("Service ID: ").strip()
        elif line.startswith(("Usage: ", "Usage for cmd: ")):
            usage = line.split(": ", 1)[1]
    if not service_id:
        raise UnexpectedOutputError(command, "no 'Service ID: ...' line", stdout)
    return Deployed(service_id, local, usage, progress)


def parse_env_setup(command: str, stdout: str) -> None:
    """`env setup`: must say the creation was submitted."""
    if "Resource creation submitted successfully." not in _lines(stdout):
        raise UnexpectedOutputError(command, "no 'Resource creation submitted successfully.' line", stdout)


def parse_env_set(command: str, stdout: str) -> str:
    """`env set`: `Compute set to NAME.`"""
    for line in _lines(stdout):
        if line.startswith("Compute set to "):
            return line.removeprefix("Compute set to ").rstrip(".")
    raise UnexpectedOutputError(command, "no 'Compute set to ...' line", stdout)


def parse_score(command: str, stdout: str) -> str:
    """`service run realtime`: the printed answer (last non-empty line; the CLI prints the decoded value)."""
    lines = [line for line in _lines(stdout) if line.strip()]
    if not lines:
        raise UnexpectedOutputError(command, "no answer printed", stdout)
    return lines[-1].strip()


def parse_table(command: str, stdout: str) -> Table:
    """`-o table`: header, a rule of dashes per column (2 spaces apart), then rows."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if len(lines) < 2 or not re.fullmatch(r"-+(?:  -+)*", lines[1].rstrip()):
        raise UnexpectedOutputError(command, "no table header rule", stdout)
    spans = [m.span() for m in re.finditer(r"-+", lines[1])]
    bounds = [
        (start, spans[i + 1][0] if i + 1 < len(spans) else None) for i, (start, _end) in enumerate(spans)
    ]

    def cells(line: str) -> tuple[str, ...]:
        return tuple(line[start:end].strip() for start, end in bounds)

    return Table(cells(lines[0]), tuple(cells(line) for line in lines[2:]))


def parse_images(command: str, stdout: str) -> tuple[Image, ...]:
    """`image list` (a list of summaries)."""
    raw = _json(command, stdout)
    if not isinstance(raw, list):
        raise UnexpectedOutputError(command, "expected a JSON list", stdout)
    return tuple(parse_image(command, json.dumps(item)) for item in raw)


def parse_models(command: str, stdout: str) -> tuple[Model, ...]:
    """`model show -m NAME [-t TAG]` / `model list` (a list; an object is accepted too)."""
    if not stdout.strip():
        return ()
    raw = _json(command, stdout)
    items = raw if isinstance(raw, list) else [raw]
    return tuple(parse_model(command, json.dumps(item)) for item in items)


def parse_manifests(command: str, stdout: str) -> tuple[Manifest, ...]:
    """`manifest list` (summaries: no ModelIds, so `model_ids` is empty)."""
    raw = _json(command, stdout)
    if not isinstance(raw, list):
        raise UnexpectedOutputError(command, "expected a JSON list", stdout)
    return tuple(
        Manifest(
            _field(command, item, "Id", str, stdout),
            _field(command, item, "Name", str, stdout),
            _field(command, item, "Version", int, stdout),
            (),
        )
        for item in raw
    )
