"""Model, manifest and image steps: reuse what the journal knows *and* a show command confirms.

Keys in the journal: model = (name, sha256 of model.pkl); manifest = (name, model id); image =
(name, manifest id). The model is also tagged `sha256:<first 20 hex>` so it can be found with
`model show -m NAME -t TAG` even if the journal was lost or the run was killed mid-register.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from orchestrator import azcli, paths
from orchestrator.azparse import Image, Manifest
from orchestrator.context import Context, sha256_file
from orchestrator.errors import MlopsError, ProvisioningFailed
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

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
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
        model_file = Path(ctx.produced.get("model_file") or ctx.staging() / "model.pkl")
        if not model_file.is_file():
            raise MlopsError(
                f"no trained model at {model_file}; the recipe needs a `train` step before `model`"
            )
        digest = ctx.produced.get("model_sha256") or sha256_file(model_file)
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
        ctx.produced.update(model_id=model.id, model_name=model.name, model_version=model.version)
        return StepResult(self.kind, status, f"model {m.name} v{model.version}", {"model_id": model.id})


def _scoring_source(relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else paths.PROJECT_ROOT / path


class ManifestStep:
    """`manifest create` (run in the staging directory: the CLI wants -f in the current directory)."""

    kind = "manifest"

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
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

    def run(self, ctx: Context) -> StepResult:
        mf = ctx.recipe.params.manifest
        assert mf is not None
        model_id = ctx.produced["model_id"]
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
            source = _scoring_source(mf.scoring_file)
            if not source.is_file():
                raise MlopsError(f"scoring file {source} not found (params.manifest.scoring_file)")
            shutil.copyfile(source, staging / source.name)
            schema = "service_schema.json" if (staging / "service_schema.json").is_file() else None
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
        ctx.produced.update(
            manifest_id=manifest.id, manifest_name=manifest.name, manifest_version=manifest.version
        )
        return StepResult(
            self.kind, status, f"manifest {mf.name} v{manifest.version}", {"manifest_id": manifest.id}
        )


class ImageStep:
    """`image create` unless an image of this name was built from this manifest (waits if it is building)."""

    kind = "image"

    def plan(self, recipe: Recipe, options: Mapping[str, object]) -> Sequence[PlannedCall]:
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

    def _recover(self, ctx: Context, name: str) -> Image | None:
        """After a run died inside `image create`: adopt the newest image built from our manifest."""
        candidates = sorted((i for i in ctx.az.image_list() if i.name == name), key=lambda i: -i.version)
        for candidate in candidates[:3]:
            shown = ctx.az.image_show(candidate.id)
            if shown and shown.manifest_name == ctx.produced["manifest_name"] and shown.state != "Failed":
                return shown
        return None

    def run(self, ctx: Context) -> StepResult:
        im = ctx.recipe.params.image
        assert im is not None
        key = f"{im.name}@{ctx.produced['manifest_id']}"
        known = ctx.journal.lookup("image", key)
        image = ctx.az.image_show(known[0]) if known and known[0] else None
        if image is None and known and known[1] == "pending":
            image = self._recover(ctx, im.name)
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
            image_id = ctx.az.image_create(im.name, ctx.produced["manifest_id"])
            ctx.journal.record("image", key, image_id, ctx.run_id)
            image = ctx.az.image_show(image_id)
            if image is None:
                raise MlopsError(f"image {image_id} was built but `az ml image show` cannot find it")
            if image.state == "Failed":
                raise ProvisioningFailed(f"image {im.name}", image.state)
            ctx.created(f"image {im.name} version {image.version} (id {image.id})")
            status = "created"
        ctx.produced.update(image_id=image.id, image_name=image.name, image_version=image.version)
        return StepResult(self.kind, status, f"image {im.name} v{image.version}", {"image_id": image.id})
