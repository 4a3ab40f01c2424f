"""Model, manifest and image steps: reuse what the journal knows *and* a show command confirms.

Keys in the journal: model = (name, sha256 of model.pkl); manifest = (name, model id); image =
(name, manifest id). The model is also tagged `sha256:<first 20 hex>` so it can be found with
`model show -m NAME -t TAG` even if the journal was lost or the run was killed mid-register.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from orchestrator import azcli
from orchestrator.azparse import Image, Manifest
from orchestrator.context import Context, Options
from orchestrator.errors import MlopsError, ProvisioningFailed
from orchestrator.products import (
    BuiltImage,
    Contract,
    CreatedManifest,
    RegisteredModel,
    ServiceSchemaFile,
    TrainedModel,
)
from orchestrator.recipes import Recipe
from orchestrator.result import PlannedCall, StepResult
from orchestrator.retry import poll_until

IMAGE_POLL_INTERVAL_S: Final = 5.0
IMAGE_WAIT_S: Final = 30 * 60.0
TAG_HEX: Final = 20


def model_tag(sha256: str) -> str:
    return f"sha256:{sha256[:TAG_HEX]}"


class ModelStep:
    """Register model.pkl unless a model with the same name and content exists."""

    kind = "model"
    contract = Contract(params=("model",), needs=(TrainedModel,), provides=(RegisteredModel,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        m = recipe.params.model
        assert m
        return [
            PlannedCall(
                azcli.model_show_argv(m.name, model_tag("<SHA256>")), note="same content registered? reuse it"
            ),
            PlannedCall(azcli.model_register_argv("model.pkl", m.name, m.description, model_tag("<SHA256>"))),
            PlannedCall(azcli.model_show_argv("<MODEL_ID>")),
        ]

    def run(self, ctx: Context) -> StepResult:
        m = ctx.recipe.params.model
        assert m is not None
        trained = ctx.need(TrainedModel)
        model_file, digest = trained.model_file, trained.model_sha256
        tag = model_tag(digest)
        known = ctx.journal.model_for_hash(digest, m.name)
        model = ctx.az.model_show(known) if known else None
        if model is None:
            tagged = sorted(ctx.az.models_tagged(m.name, tag), key=lambda x: x.version)
            model = tagged[-1] if tagged else None
        if model is not None:
            ctx.journal.record_model_file(digest, m.name, model.id, model.version)
            ctx.exists(f"model {m.name} version {model.version} (id {model.id}) with the same content")
            status = "exists"
        else:
            ctx.journal.intend("model", f"{m.name}@{digest}", ctx.run_id)
            model_id = ctx.az.model_register(
                model_file.name, m.name, m.description, tag, cwd=model_file.parent
            )
            ctx.journal.record("model", f"{m.name}@{digest}", model_id, ctx.run_id)
            ctx.journal.record_model_file(digest, m.name, model_id, None)
            model = ctx.az.model_show(model_id)
            if model is None:
                raise MlopsError(f"model {model_id} was registered but `az ml model show` cannot find it")
            ctx.journal.record_model_file(digest, m.name, model.id, model.version)
            ctx.created(f"model {m.name} version {model.version} (id {model.id})")
            status = "created"
        ctx.provide(RegisteredModel(model.id, model.name, model.version))
        return StepResult(self.kind, status, f"model {m.name} v{model.version}", {"model_id": model.id})


def scoring_source(value: str, recipe_dir: Path) -> Traversable:
    """`params.manifest.scoring_file`: an absolute path, a path relative to the recipe file's folder, or
    `<package>/<file>` inside an installed Python package (the bundled recipes' `churn_model/score.py`)."""
    path = Path(value)
    if path.is_absolute():
        return path
    beside = recipe_dir / path
    if beside.is_file():
        return beside
    package, _, resource = value.partition("/")
    if resource and package.isidentifier() and importlib.util.find_spec(package) is not None:
        packaged = files(package).joinpath(resource)
        if packaged.is_file():
            return packaged
    raise MlopsError(
        f"scoring file {value!r} not found (params.manifest.scoring_file): not at {beside}, and not a file "
        "of an installed package (write it as <package>/<file>, e.g. churn_model/score.py, or give a path)"
    )


class ManifestStep:
    """`manifest create` (run in the staging directory: the CLI wants -f in the current directory)."""

    kind = "manifest"
    contract = Contract(
        params=("model", "manifest"),
        needs=(RegisteredModel,),
        uses=(ServiceSchemaFile,),
        provides=(CreatedManifest,),
    )

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        mf = recipe.params.manifest
        assert mf
        driver = Path(mf.scoring_file).name
        return [
            PlannedCall(
                azcli.manifest_create_argv(mf.name, "<MODEL_ID>", driver, mf.runtime, "service_schema.json")
            ),
            PlannedCall(azcli.manifest_show_argv("<MANIFEST_ID>")),
        ]

    def _recover(self, ctx: Context, name: str, model_id: str) -> Manifest | None:
        """After a run died inside `manifest create`: adopt the newest manifest of this name for our model."""
        candidates = sorted((m for m in ctx.az.manifest_list() if m.name == name), key=lambda m: -m.version)
        for candidate in candidates[:3]:
            shown = ctx.az.manifest_show(candidate.id)
            if shown and model_id in shown.model_ids:
                return shown
        return None

    @staticmethod
    def _schema(ctx: Context, staging: Path) -> str | None:
        """The schema file name for `-s` (it must sit in the staging directory, the command's cwd)."""
        made = ctx.use(ServiceSchemaFile)
        if made is None:
            return None
        if made.schema_file.parent != staging:
            (staging / made.schema_file.name).write_bytes(made.schema_file.read_bytes())
        return made.schema_file.name

    def run(self, ctx: Context) -> StepResult:
        mf = ctx.recipe.params.manifest
        assert mf is not None
        model_id = ctx.need(RegisteredModel).model_id
        key = f"{mf.name}@{model_id}"
        known = ctx.journal.lookup("manifest", key)
        manifest = ctx.az.manifest_show(known[0]) if known and known[0] else None
        if manifest is None and known and known[1] == "pending":
            manifest = self._recover(ctx, mf.name, model_id)
        if manifest is not None and model_id in manifest.model_ids:
            ctx.exists(f"manifest {mf.name} version {manifest.version} (id {manifest.id})")
            status = "exists"
        else:
            staging = ctx.staging()
            staging.mkdir(parents=True, exist_ok=True)
            source = scoring_source(mf.scoring_file, ctx.recipe.path.parent)
            if not source.is_file():
                raise MlopsError(f"scoring file {source} not found (params.manifest.scoring_file)")
            (staging / source.name).write_bytes(source.read_bytes())
            schema = self._schema(ctx, staging)
            ctx.journal.intend("manifest", key, ctx.run_id)
            manifest_id = ctx.az.manifest_create(
                mf.name, model_id, source.name, mf.runtime, schema, cwd=staging
            )
            ctx.journal.record("manifest", key, manifest_id, ctx.run_id)
            manifest = ctx.az.manifest_show(manifest_id)
            if manifest is None:
                raise MlopsError(
                    f"manifest {manifest_id} was created but `az ml manifest show` cannot find it"
                )
            ctx.created(f"manifest {mf.name} version {manifest.version} (id {manifest.id})")
            status = "created"
        ctx.provide(CreatedManifest(manifest.id, manifest.name, manifest.version))
        return StepResult(
            self.kind, status, f"manifest {mf.name} v{manifest.version}", {"manifest_id": manifest.id}
        )


class ImageStep:
    """`image create` unless an image of this name was built from this manifest (waits if it is building)."""

    kind = "image"
    contract = Contract(params=("image",), needs=(CreatedManifest,), provides=(BuiltImage,))

    def plan(self, recipe: Recipe, options: Options) -> Sequence[PlannedCall]:
        im = recipe.params.image
        assert im
        return [
            PlannedCall(azcli.image_create_argv(im.name, "<MANIFEST_ID>")),
            PlannedCall(azcli.image_show_argv("<IMAGE_ID>")),
        ]

    def _wait(self, ctx: Context, image: Image) -> Image:
        def read() -> Image:
            found = ctx.az.image_show(image.id)
            return found if found is not None else Image(image.id, image.name, image.version, "NotStarted")

        return poll_until(
            read,
            what=f"image {image.name} version {image.version}",
            state_of=lambda i: i.state,
            done=("Succeeded",),
            failed=("Failed", "Cancelled"),
            timeout=IMAGE_WAIT_S,
            interval=IMAGE_POLL_INTERVAL_S,
            sleep=ctx.sleep,
            clock=ctx.clock,
        )

    def _recover(self, ctx: Context, name: str, manifest_name: str) -> Image | None:
        """After a run died inside `image create`: adopt the newest image built from our manifest."""
        candidates = sorted((i for i in ctx.az.image_list() if i.name == name), key=lambda i: -i.version)
        for candidate in candidates[:3]:
            shown = ctx.az.image_show(candidate.id)
            if shown and shown.manifest_name == manifest_name and shown.state != "Failed":
                return shown
        return None

    def run(self, ctx: Context) -> StepResult:
        im = ctx.recipe.params.image
        assert im is not None
        manifest = ctx.need(CreatedManifest)
        key = f"{im.name}@{manifest.manifest_id}"
        known = ctx.journal.lookup("image", key)
        image = ctx.az.image_show(known[0]) if known and known[0] else None
        if image is None and known and known[1] == "pending":
            image = self._recover(ctx, im.name, manifest.manifest_name)
        if image is not None and image.state == "Failed":
            image = None  # a failed build is not reusable: build again
        if image is not None:
            if image.state != "Succeeded":
                ctx.out.info(f"waiting: image {im.name} version {image.version} is {image.state}")
                image = self._wait(ctx, image)
            ctx.journal.record("image", key, image.id, ctx.run_id)
            ctx.exists(f"image {im.name} version {image.version} (id {image.id})")
            status = "exists"
        else:
            ctx.journal.intend("image", key, ctx.run_id)
            ctx.out.detail(f"building image {im.name} (this can take several minutes)...")
            image_id = ctx.az.image_create(im.name, manifest.manifest_id)
            ctx.journal.record("image", key, image_id, ctx.run_id)
            image = ctx.az.image_show(image_id)
            if image is None:
                raise MlopsError(f"image {image_id} was built but `az ml image show` cannot find it")
            if image.state == "Failed":
                raise ProvisioningFailed(f"image {im.name}", image.state)
            ctx.created(f"image {im.name} version {image.version} (id {image.id})")
            status = "created"
        ctx.provide(BuiltImage(image.id, image.name, image.version))
        return StepResult(self.kind, status, f"image {im.name} v{image.version}", {"image_id": image.id})
