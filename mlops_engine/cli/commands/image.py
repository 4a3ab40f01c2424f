"""`az ml image create|show|list|usage` (legacy reference 5.5)."""

from __future__ import annotations

from typing import Any

from mlops_engine.cli import profile
from mlops_engine.cli.commands.common import (
    convert_time,
    operation_error,
    pages,
    pascalize,
    poll,
    space_if_empty,
)
from mlops_engine.cli.commands.manifest import create_manifest
from mlops_engine.cli.commands.model import NO_ENV
from mlops_engine.cli.context import Context, Created
from mlops_engine.cli.errors import CliError, HttpError


def compute_resource_id(ctx: Context) -> str:
    env = profile.load_env(ctx.paths)
    if not env:
        raise CliError(NO_ENV)
    return (f"/subscriptions/{env['subscription']}/resourcegroups/{env['resource_group']}/providers/"
            f"Microsoft.MachineLearningCompute/operationalizationClusters/{env['name']}")


def create_image(ctx: Context, name: str, description: str | None, manifest_id: str | None, verb: bool,
                 **manifest_args: Any) -> str:
    """Build an image (from a manifest id, or creating the manifest first); returns the image id."""
    if verb:
        ctx.out("Starting image create")
    compute = compute_resource_id(ctx)
    if not manifest_id:
        if not manifest_args.get("driver_file"):
            raise CliError("Either manifest id or information to create a manifest must be provided")
        manifest_id = create_manifest(ctx, name[:30], description=None, verb=verb, **manifest_args)
    payload = {"name": name, "manifestId": manifest_id, "description": description, "imageType": "Docker",
               "computeResourceId": compute}
    if verb:
        ctx.out(f"Image payload: {payload}")
    resp = ctx.client.request("POST", ctx.mms("/images"), payload)
    if resp.status != 202:
        raise HttpError("Error occurred creating image.", resp.status, resp.headers, resp.body)
    location = resp.header("Operation-Location")
    if verb and location:
        ctx.out(f"Operation Id: {location.rstrip('/').split('/')[-1]}")
    image_id, op, headers = poll(ctx, location, "Creating image")
    if image_id is None:
        failed_id = str(op.get("resourceLocation", "")).rstrip("/").split("/")[-1]
        ctx.created.append(Created("image", failed_id, name, failed=True))
        raise operation_error(op, headers, ctx, "image", failed_id)
    ctx.created.append(Created("image", image_id, name))
    ctx.out("Done.")
    ctx.out(f"Image ID: {image_id}")
    ctx.out(f"More details: 'az ml image show -i {image_id}'")
    ctx.out(f"Usage information: 'az ml image usage -i {image_id}'")
    return image_id


def create(ctx: Context, image_name: str, image_description: str | None, verb: bool, manifest_id: str | None,
           conda_file: str | None, dependencies: list[str] | None, model_files: list[str] | None,
           schema_file: str | None, driver_file: str | None, requirements: str | None, runtime: str | None) -> None:
    create_image(ctx, image_name, image_description, manifest_id, verb, driver_file=driver_file, runtime=runtime,
                 schema_file=schema_file, dependencies=dependencies or [], requirements=requirements,
                 conda_file=conda_file, model_ids=[], model_files=model_files or [])


def _get(ctx: Context, image_id: str) -> dict[str, Any]:
    return pascalize(ctx.client.call("GET", ctx.mms(f"/images/{image_id}"),
                                     error="Error occurred while attempting to show image."))


def _row(i: dict[str, Any]) -> dict[str, Any]:
    return {"Name": i["Name"], "Id": i["Id"], "Version": i["Version"], "CreatedTime": i["CreatedTime"],
            "CreationState": i["CreationState"]}


def _table(result: Any) -> list[dict[str, Any]]:
    rows = result if isinstance(result, list) else [result]
    return [{**_row(r), "CreatedTime": convert_time(r["CreatedTime"])} for r in rows]


def show(ctx: Context, image_id: str, verb: bool) -> Any:
    image = _get(ctx, image_id)
    if verb:
        return image, _table
    manifest = image.get("Manifest") or {}
    return {**_row(image), "Description": space_if_empty(image.get("Description")),
            "Manifest_Name": manifest.get("Name"), "Manifest_Version": manifest.get("Version")}, _table


def list_(ctx: Context, verb: bool) -> Any:
    images = pascalize(pages(ctx, ctx.mms("/images"), "Error occurred while attempting to list images."))
    return (images if verb else [_row(i) for i in images]), _table


def usage(ctx: Context, image_id: str, verb: bool) -> None:
    image = _get(ctx, image_id)
    ctx.out("Service Creation Instructions:")
    ctx.out("    Run 'az ml service create realtime' and provide the necessary information, including this image ID: "
            f"{image_id}")
    if image.get("ImageType") == "Docker":
        # The local engine has no container registry to pull from; the bundle carries a generated Dockerfile.
        bundle = ctx.paths.images / image["Id"]
        ctx.out("")
        ctx.out("Docker Build Instructions:")
        ctx.out(f"    The image bundle is at {bundle} (with a generated Dockerfile).")
        ctx.out(f"    Run 'docker build -t {str(image.get('ImageLocation', image['Name'])).split('/')[-1]} {bundle}' "
                "to build it into a container image where a Docker engine is available")
