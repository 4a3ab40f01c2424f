"""Image builder: manifest -> immutable bundle images/<id>/ (built in tmp/, then renamed; docs/engine-api.md §3)."""

from __future__ import annotations

import ast
import json
import logging
import py_compile
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from ... import __version__
from ...paths import Paths
from ..storage import is_full
from ..store.artifacts import ArtifactStore
from ..store.files import publish_tree, remove_tree
from ..store.records import Asset, Image, Manifest, Model
from . import depcheck

log = logging.getLogger(__name__)

MAX_SCHEMA_DEPTH: Final = 64  # the legacy generator's schemas are about 8 deep; the replica recurses over it


class BuildFailed(Exception):
    """The precise reason a build failed (also the last line of build.log)."""


@dataclass(frozen=True)
class BuildRequest:
    """What to build: the image record, its manifest and the manifest's models."""

    image: Image
    manifest: Manifest
    models: tuple[Model, ...]


@dataclass(frozen=True)
class Builder:
    """Builds bundles into `paths.images`, reading artifacts from the store, checking requirements in `python`."""

    paths: Paths
    artifacts: ArtifactStore
    python: str

    def build(self, request: BuildRequest) -> Path:
        """Build the bundle; return images/<id>. BuildFailed (after keeping build.log) on a user error."""
        image = request.image
        staging = Path(tempfile.mkdtemp(prefix=f"build-{image.id}-", dir=self.paths.tmp))
        blog = BuildLog(staging / "build.log")
        blog.write(f"mlops-engine {__version__}: building image {image.name}:{image.version} ({image.id})")
        try:
            self._assemble(request, staging, blog)
            blog.write("Build succeeded.")
            final = self.paths.images / image.id
            publish_tree(staging, final)
            return final
        except BuildFailed as failed:
            blog.write("ERROR: " + " | ".join(str(failed).splitlines()))
            self._keep_log(staging, image.id)
            raise
        except BaseException as exc:
            if is_full(exc):
                raise  # nothing more can be written: not even the log
            blog.write(f"ERROR: internal error: {exc!r}")
            self._keep_log(staging, image.id)
            raise
        finally:
            remove_tree(staging)

    def _assemble(self, request: BuildRequest, staging: Path, blog: BuildLog) -> None:
        image, manifest = request.image, request.manifest
        app = staging / "app"
        app.mkdir()
        for model in request.models:
            blog.write(f"model {model.name} v{model.version} ({model.id}) <- {model.url}")
            self._place(model.url, model.unpack, app, model.name, f"model {model.name}")
        driver_asset: Asset | None = None
        for asset in manifest.assets:
            if asset.id == "driver":
                driver_asset = asset
                continue
            blog.write(f"asset {asset.id} <- {asset.url}")
            self._place(asset.url, bool(asset.unpack), app, asset.id, f"asset {asset.id}")
        if driver_asset is None:
            raise BuildFailed("the manifest has no driver asset (an asset with id 'driver')")
        shutil.copyfile(self._resolve(driver_asset.url, "the driver asset"), staging / "driver.py")
        requirements = self._requirements(manifest, staging, blog)
        driver, schema = _find_driver(staging / "driver.py", app)
        blog.write(f"driver: app/{driver}" + (f", schema: app/{schema}" if schema else ", no schema"))
        _compile(staging / "driver.py", "the generated driver driver.py", staging)
        _compile(app / driver, f"the scoring driver {driver}", staging)
        if schema:
            _check_schema(app / schema, schema)
        meta = {
            "id": image.id,
            "name": image.name,
            "version": image.version,
            "manifestId": manifest.id,
            "driver": driver,
            "schema": schema,
            "runtime": "python",
            "models": [{"id": m.id, "name": m.name, "version": m.version} for m in request.models],
            "requirements": requirements,
            "createdTime": image.created_time,
        }
        (staging / "image.json").write_text(json.dumps(meta, indent=2))
        (staging / "Dockerfile").write_text(_dockerfile(image, bool(manifest.pip_requirements)))

    def _keep_log(self, staging: Path, image_id: str) -> None:
        """A failed image keeps only its build.log at images/<id>/build.log (no bundle)."""
        holder = Path(tempfile.mkdtemp(prefix=f"failed-{image_id}-", dir=self.paths.tmp))
        try:
            shutil.copyfile(staging / "build.log", holder / "build.log")
            publish_tree(holder, self.paths.images / image_id)
        except OSError:
            log.exception("could not keep the build log of image %s", image_id)
            remove_tree(holder)

    def _resolve(self, url: str, what: str) -> Path:
        try:
            return self.artifacts.resolve_url(url)
        except ValueError as exc:
            raise BuildFailed(f"{what}: {exc}") from exc

    def _place(self, url: str, unpack: bool, app: Path, name: str, what: str) -> None:
        source = self._resolve(url, what)
        if not unpack:
            shutil.copyfile(source, app / Path(name).name)
            return
        try:
            with tarfile.open(source, "r:*") as archive:
                archive.extractall(app, filter="data")
        except (tarfile.TarError, OSError) as exc:
            if is_full(exc):  # the archive is fine: the disk is not (said by builds.py, not as a bad archive)
                raise
            raise BuildFailed(
                f"{what} is not a valid tar.gz archive or could not be unpacked: {exc}"
            ) from exc

    def _requirements(self, manifest: Manifest, staging: Path, blog: BuildLog) -> list[str]:
        reqs: list[str] = []
        if manifest.pip_requirements:
            text = self._resolve(manifest.pip_requirements, "pipRequirements").read_text()
            (staging / "requirements.txt").write_text(text)
            pip_reqs, ignored = depcheck.pip_lines(text)
            for line in ignored:
                blog.write(f"requirements.txt: ignoring pip option line {line!r}")
            reqs.extend(pip_reqs)
        if manifest.conda_env_file:
            text = self._resolve(manifest.conda_env_file, "condaEnvFile").read_text()
            (staging / "conda_dependencies.yml").write_text(text)
            try:
                reqs.extend(depcheck.conda_lines(text))
            except (ValueError, TypeError, yaml.YAMLError) as exc:
                raise BuildFailed(f"the conda file could not be parsed: {exc}") from exc
        self._check(reqs, blog)
        return reqs

    def _check(self, reqs: list[str], blog: BuildLog) -> None:
        python = self.python
        checked = [r for r in reqs if _dist_name(r) not in depcheck.RUNTIME_PROVIDED]
        for r in reqs:
            if r not in checked:
                blog.write(f"requirement {r!r}: provided by the mlops runtime")
        blog.write(f"dependency check in the serving interpreter {python} ({len(checked)} requirements)")
        try:
            version, results = depcheck.check(python, checked)
        except RuntimeError as exc:
            raise BuildFailed(str(exc)) from exc
        blog.write(f"serving interpreter: Python {version}")
        for res in results:
            blog.write(
                f"  {res.requirement}: " + (f"ok ({res.installed or res.reason})" if res.ok else res.reason)
            )
        for res in results:
            if res.ok:
                continue
            if res.reason == "not installed":
                raise BuildFailed(
                    f"requirement '{res.requirement}' is not installed in the serving interpreter ({python})"
                )
            raise BuildFailed(
                f"requirement '{res.requirement}' is not satisfied in the serving interpreter ({python}): "
                f"{res.reason}"
            )


@dataclass(frozen=True)
class BuildLog:
    """build.log of a build in progress: one line per step, the reason of a failure last."""

    path: Path

    def write(self, line: str) -> None:
        with open(self.path, "a") as out:
            out.write(line.rstrip("\n") + "\n")


def _dist_name(requirement: str) -> str:
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _find_driver(wrapper: Path, app: Path) -> tuple[str, str | None]:
    """The user's scoring module and schema named by the generated driver (else the only .py in app/).

    The CLI's wrapper names both in its text (e.g. "serves score.py ... with schema 'service_schema.json'");
    any .py / .json token of the wrapper that exists in app/ counts, in order of appearance.
    """
    source = wrapper.read_text(errors="replace")
    try:
        ast.parse(source)
    except SyntaxError as exc:
        raise BuildFailed(
            f"the generated driver driver.py does not compile: {exc.msg} (line {exc.lineno})"
        ) from exc
    tokens = re.findall(r"[\w./-]+\.(?:py|json)\b", source)
    driver = next((t for t in tokens if t.endswith(".py") and _inside(app, t)), None)
    if driver is None:
        top = sorted(p.name for p in app.glob("*.py"))
        if len(top) != 1:
            found = ", ".join(top) or "none"
            raise BuildFailed(
                f"the scoring driver is missing from the image: driver.py names no .py file of app/ (found: {found})"
            )
        driver = top[0]
    schema = next((t for t in tokens if t.endswith(".json") and _inside(app, t)), None)
    return driver, schema


def _inside(app: Path, relative: str) -> bool:
    path = (app / relative).resolve()
    return path.is_file() and path.is_relative_to(app.resolve())


def _check_schema(path: Path, name: str) -> None:
    """The schema must be JSON nested at most MAX_SCHEMA_DEPTH deep (the replica walks it recursively)."""
    try:
        document = json.loads(path.read_text())
    except RecursionError:
        raise BuildFailed(
            f"the schema file {name} is nested too deeply to be parsed; a service schema is nested at most "
            f"{MAX_SCHEMA_DEPTH} levels deep"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BuildFailed(f"the schema file {name} is not valid JSON: {exc}") from exc
    depth = _depth(document)
    if depth > MAX_SCHEMA_DEPTH:
        raise BuildFailed(
            f"the schema file {name} is nested {depth} levels deep; a service schema is nested at most "
            f"{MAX_SCHEMA_DEPTH} levels deep (regenerate it with the schema generator)"
        )


def _depth(document: object) -> int:
    """How deeply arrays and objects are nested in a parsed JSON document (iterative: no recursion limit)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _compile(path: Path, what: str, staging: Path) -> None:
    cfile = staging.parent / f"{staging.name}.pyc"
    try:
        py_compile.compile(str(path), cfile=str(cfile), doraise=True)
    except py_compile.PyCompileError as exc:
        err = exc.exc_value
        where = f" (line {err.lineno})" if isinstance(err, SyntaxError) and err.lineno else ""
        detail = err.msg if isinstance(err, SyntaxError) else str(err)
        raise BuildFailed(f"{what} does not compile: {exc.exc_type_name}: {detail}{where}") from exc
    finally:
        cfile.unlink(missing_ok=True)


def _dockerfile(image: Image, has_requirements: bool) -> str:
    pip = "RUN pip install --no-cache-dir httptools uvloop" + (
        " -r requirements.txt" if has_requirements else ""
    )
    return (
        f"# Generated by mlops-engine {__version__} for image {image.name}:{image.version}\n"
        "FROM python:3.11-slim\nWORKDIR /bundle\nCOPY . /bundle\n" + pip + "\n"
        'EXPOSE 5001\nCMD ["python", "driver.py"]\n'
    )
