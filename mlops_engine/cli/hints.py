"""Next steps printed after an error, for a person at a terminal (issue 8, "the newcomer's first hour").

Why only on a terminal: the error block is the legacy CLI's, byte for byte -- scripts parse it and the genuine
transcripts pin it (tests/conformance) -- while a hint is advice for a person. So the entry point prints a
CliError's hint after the block, as `hint: ` lines on stderr, only when stderr is a terminal; pipes and
captured output get the legacy bytes alone (docs/compatibility.md).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from mlops_engine.cli.context import Created

PREFIX: Final = "hint:"


def render_hint(hint: str) -> str:
    """Every line of `hint` prefixed with `hint: `, as written to stderr after the error block."""
    return "".join(f"{PREFIX} {line}".rstrip() + "\n" for line in hint.splitlines())


def local_update(service_id: str) -> str:
    """After `Error, service update not supported for local services.` (the legacy refusal, by mode)."""
    if "." in service_id:  # cluster service ids are <name>.<env>-<8 hex>.<location>; local ids are the name
        return (f"'{service_id}' is a cluster service id, and this environment is in local mode.\n"
                "Switch to cluster mode, then run the same command again:\n"
                "  az ml env cluster")
    return ("This environment is in local mode, where a service is not updated in place.\n"
            "To serve another image (or other settings), delete the service and create it again:\n"
            f"  az ml service delete realtime -i {service_id}\n"
            f"  az ml service create realtime -n {service_id} --image-id <IMAGE_ID>\n"
            "Services created in cluster mode ('az ml env cluster') are updated in place with "
            "'az ml service update realtime'.")


@dataclass(frozen=True)
class OneStep:
    """What a one-step `service create realtime -f ... --model-file ...` was asked to build."""

    service_name: str
    driver_file: str
    runtime: str
    schema_file: str | None = None
    requirements: str | None = None
    conda_file: str | None = None
    dependencies: tuple[str, ...] = ()


def one_step_leftovers(created: Sequence[Created], request: OneStep) -> str | None:
    """What a failed one-step create left behind and how to reuse it; None when it created nothing."""
    if not created:
        return None
    lines = ["This one-step create stopped part-way. What it created is kept:"]
    width = max(len(c.id) for c in created)
    lines += [f"  {c.kind:<8}  {c.id:<{width}}  {c.name}" + ("  (Failed)" if c.failed else "") for c in created]
    name = request.service_name
    models = [c.id for c in created if c.kind == "model"]
    image = next((c.id for c in created if c.kind == "image" and not c.failed), None)
    service = next((c.id for c in created if c.kind == "service"), None)
    reuse_image = f"  az ml service create realtime -n {name} --image-id {image}"
    if service:
        lines += ["The failed service keeps its name until you delete it:",
                  f"  az ml service delete realtime -i {service}"]
    if image and not service:
        lines.append("Reuse the image instead of registering and building again "
                     "(with another name if the name was the problem):")
        lines.append(reuse_image)
        return "\n".join(lines)
    if models:
        lines.append(("score.py and the schema are inside the image: once fixed, build a new image"
                      if service else "Once the cause is fixed, build the image")
                     + " from the registered model instead of registering it again:")
        lines += [f"  {_manifest_create(request, models)}",
                  f"  az ml image create -n {name[:30]} --manifest-id <MANIFEST_ID>",
                  f"  az ml service create realtime -n {name} --image-id <IMAGE_ID>"]
    if image:
        lines += ["To retry with the same image (nothing to fix inside it):", reuse_image]
    return "\n".join(lines)


def _manifest_create(request: OneStep, model_ids: Sequence[str]) -> str:
    argv = ["az", "ml", "manifest", "create", "-n", request.service_name[:30], "-f", request.driver_file,
            "-r", request.runtime]
    for model_id in model_ids:
        argv += ["-i", model_id]
    for flag, value in (("-s", request.schema_file), ("-p", request.requirements), ("-c", request.conda_file)):
        if value:
            argv += [flag, value]
    for dependency in request.dependencies:
        argv += ["-d", dependency]
    return shlex.join(argv)
