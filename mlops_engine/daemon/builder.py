"""Image builder: manifest -> immutable bundle images/<id>/ (built in tmp/, then renamed)."""

from __future__ import annotations

import ast
import json
import logging
import os
import py_compile
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from . import depcheck
from .engine import Engine, serving_python

log = logging.getLogger(__name__)


class BuildFailed(Exception):
    """The precise reason a build failed (also the last line of build.log)."""


@dataclass
class BuildLog:
    path: Path

    def write(self, line: str) -> None:
        with open(self.path, "a") as out:
            out.write(line.rstrip("\n") + "\n")


def build(engine: Engine, image: dict[str, Any], models: list[dict[str, Any]]) -> Path:
    """Build the bundle of `image` (its doc, with the full manifest); return images/<id>. BuildFailed on error."""
    image_id = image["id"]
    staging = Path(tempfile.mkdtemp(prefix=f"build-{image_id}-", dir=engine.paths.tmp))
    blog = BuildLog(staging / "build.log")
    blog.write(f"mlops-engine {__version__}: building image {image['name']}:{image['version']} ({image_id})")
    try:
        _assemble(engine, image, models, staging, blog)
        blog.write("Build succeeded.")
        return _publish(engine, staging, image_id)
    except BuildFailed as failed:
        blog.write("ERROR: " + " | ".join(str(failed).splitlines()))
        _publish_failure(engine, staging, image_id)
        raise
    except BaseException as exc:
        blog.write(f"ERROR: internal error: {exc!r}")
        _publish_failure(engine, staging, image_id)
        raise
    finally:
        _rmtree(staging)


def _assemble(
    engine: Engine, image: dict[str, Any], models: list[dict[str, Any]], staging: Path, blog: BuildLog
) -> None:
    manifest = image["manifest"]
    app = staging / "app"
    app.mkdir()
    for model in models:
        blog.write(f"model {model['name']} v{model['version']} ({model['id']}) <- {model['url']}")
        _place(engine, model["url"], bool(model.get("unpack")), app, model["name"], f"model {model['name']}")
    driver_asset = None
    for asset in manifest["assets"]:
        if asset["id"] == "driver":
            driver_asset = asset
            continue
        blog.write(f"asset {asset['id']} <- {asset['url']}")
        _place(engine, asset["url"], bool(asset.get("unpack")), app, asset["id"], f"asset {asset['id']}")
    assert driver_asset is not None, "manifests are validated to have a driver"
    shutil.copyfile(_resolve(engine, driver_asset["url"], "the driver asset"), staging / "driver.py")
    props = manifest["targetRuntime"].get("properties") or {}
    requirements = _requirements(engine, props, staging, blog)
    driver, schema = _find_driver(staging / "driver.py", app)
    blog.write(f"driver: app/{driver}" + (f", schema: app/{schema}" if schema else ", no schema"))
    _compile(staging / "driver.py", "the generated driver driver.py", staging)
    _compile(app / driver, f"the scoring driver {driver}", staging)
    if schema:
        try:
            json.loads((app / schema).read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise BuildFailed(f"the schema file {schema} is not valid JSON: {exc}") from exc
    meta = {
        "id": image["id"],
        "name": image["name"],
        "version": image["version"],
        "manifestId": manifest["id"],
        "driver": driver,
        "schema": schema,
        "runtime": "python",
        "models": [{"id": m["id"], "name": m["name"], "version": m["version"]} for m in models],
        "requirements": requirements,
        "createdTime": image["createdTime"],
    }
    (staging / "image.json").write_text(json.dumps(meta, indent=2))
    (staging / "Dockerfile").write_text(_dockerfile(image, bool(props.get("pipRequirements"))))


def _resolve(engine: Engine, url: str, what: str) -> Path:
    try:
        return engine.store.resolve_url(url)
    except ValueError as exc:
        raise BuildFailed(f"{what}: {exc}") from exc


def _place(engine: Engine, url: str, unpack: bool, app: Path, name: str, what: str) -> None:
    source = _resolve(engine, url, what)
    if not unpack:
        target = app / os.path.basename(name)
        shutil.copyfile(source, target)
        return
    try:
        with tarfile.open(source, "r:*") as archive:
            archive.extractall(app, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BuildFailed(f"{what} is not a valid tar.gz archive or could not be unpacked: {exc}") from exc


def _requirements(engine: Engine, props: dict[str, Any], staging: Path, blog: BuildLog) -> list[str]:
    reqs: list[str] = []
    if props.get("pipRequirements"):
        text = _resolve(engine, props["pipRequirements"], "pipRequirements").read_text()
        (staging / "requirements.txt").write_text(text)
        pip_reqs, ignored = depcheck.pip_lines(text)
        for line in ignored:
            blog.write(f"requirements.txt: ignoring pip option line {line!r}")
        reqs.extend(pip_reqs)
    if props.get("condaEnvFile"):
        text = _resolve(engine, props["condaEnvFile"], "condaEnvFile").read_text()
        (staging / "conda_dependencies.yml").write_text(text)
        try:
            reqs.extend(depcheck.conda_lines(text))
        except (ValueError, TypeError, yaml.YAMLError) as exc:
            raise BuildFailed(f"the conda file could not be parsed: {exc}") from exc
    _check(reqs, blog)
    return reqs


def _check(reqs: list[str], blog: BuildLog) -> None:
    python = serving_python()
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
            f"requirement '{res.requirement}' is not satisfied in the serving interpreter ({python}): {res.reason}"
        )


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


def _dockerfile(image: dict[str, Any], has_requirements: bool) -> str:
    pip = "RUN pip install --no-cache-dir httptools uvloop" + (
        " -r requirements.txt" if has_requirements else ""
    )
    return (
        f"# Generated by mlops-engine {__version__} for image {image['name']}:{image['version']}\n"
        "FROM python:3.11-slim\nWORKDIR /bundle\nCOPY . /bundle\n" + pip + "\n"
        'EXPOSE 5001\nCMD ["python", "driver.py"]\n'
    )


def _publish(engine: Engine, staging: Path, image_id: str) -> Path:
    final = engine.paths.images / image_id
    _freeze(staging)
    os.replace(staging, final)
    return final


def _publish_failure(engine: Engine, staging: Path, image_id: str) -> None:
    """A failed image keeps only its build.log at images/<id>/build.log (no bundle)."""
    holder = Path(tempfile.mkdtemp(prefix=f"failed-{image_id}-", dir=engine.paths.tmp))
    try:
        shutil.copyfile(staging / "build.log", holder / "build.log")
        _freeze(holder)
        os.replace(holder, engine.paths.images / image_id)
    except OSError:
        log.exception("could not keep the build log of image %s", image_id)
        _rmtree(holder)


def _freeze(root: Path) -> None:
    """Files 0444, directories 0555 (deepest first)."""
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, 0o444)
        os.chmod(dirpath, 0o555)


def _rmtree(root: Path) -> None:
    if not root.exists():
        return
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o700)
    shutil.rmtree(root, ignore_errors=True)
