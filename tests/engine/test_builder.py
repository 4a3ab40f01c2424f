"""The image builder, in-process: the bundle it publishes, and every reason a build fails (with build.log)."""

from __future__ import annotations

import io
import json
import stat
import sys
import tarfile
from pathlib import Path

import pytest

from mlops_engine.daemon.store.artifacts import ArtifactStore
from mlops_engine.daemon.store.records import Asset, Image, Manifest, Model
from mlops_engine.daemon.work import depcheck
from mlops_engine.daemon.work.builder import Builder, BuildFailed, BuildRequest
from mlops_engine.paths import Paths

from .daemon_client import targz

SCORE = b"def init():\n    pass\n\ndef run(data):\n    return data\n"
DRIVER = b"# serves score.py with schema 'service_schema.json'\nimport score\n"


class Kit:
    """A home with an artifact store, and records built from uploaded content."""

    def __init__(self, root: Path, python: str = sys.executable) -> None:
        self.paths = Paths(root / "home")
        self.paths.ensure()
        self.artifacts = ArtifactStore(self.paths)
        self.builder = Builder(self.paths, self.artifacts, python)

    def url(self, data: bytes) -> str:
        return self.artifacts.put_bytes(data)

    def request(
        self,
        files: dict[str, bytes] | None = None,
        driver: bytes = DRIVER,
        pip: str | None = "packaging\n",
        conda: str | None = None,
        model: bytes | None = None,
        assets: tuple[Asset, ...] | None = None,
    ) -> BuildRequest:
        files = {"score.py": SCORE, "service_schema.json": b'{"input": {}}'} if files is None else files
        models = ()
        if model is not None:
            url = self.url(targz({"model.pkl": model}))
            models = (
                Model("m" * 32, "rg/acct", "model.pkl", 3, (), None, url, "application/json", True, "t0"),
            )
        if assets is None:
            assets = (
                Asset("driver", self.url(driver), "application/x-python", None),
                Asset("dep1", self.url(targz(files)), "application/octet-stream", True),
            )
        manifest = Manifest(
            "man-1", "rg/acct", "churn", 2, None, "driver", "Registered", tuple(m.id for m in models), assets,
            "Python", self.url(pip.encode()) if pip is not None else None,
            self.url(conda.encode()) if conda is not None else None, "t1",
        )  # fmt: skip
        image = Image(
            "img-1", "rg/acct", "churnimage", 4, None, None, "2026-01-01T00:00:00.000000Z", "Running", "man-1"
        )
        return BuildRequest(image, manifest, models)

    def failure(self, request: BuildRequest) -> str:
        """Build, expect BuildFailed; check that only a read-only build.log is kept; return the reason."""
        with pytest.raises(BuildFailed) as failed:
            self.builder.build(request)
        kept = self.paths.images / "img-1"
        assert [p.name for p in kept.iterdir()] == ["build.log"]
        assert stat.S_IMODE((kept / "build.log").stat().st_mode) == 0o444
        last = (kept / "build.log").read_text().splitlines()[-1]
        assert last == "ERROR: " + " | ".join(str(failed.value).splitlines())
        assert list(self.paths.tmp.iterdir()) == []
        return str(failed.value)


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return Kit(tmp_path)


def test_bundle_layout_and_read_only(kit: Kit):
    bundle = kit.builder.build(kit.request(model=b"MODEL"))
    assert bundle == kit.paths.images / "img-1"
    meta = json.loads((bundle / "image.json").read_text())
    assert meta == {
        "id": "img-1",
        "name": "churnimage",
        "version": 4,
        "manifestId": "man-1",
        "driver": "score.py",
        "schema": "service_schema.json",
        "runtime": "python",
        "models": [{"id": "m" * 32, "name": "model.pkl", "version": 3}],
        "requirements": ["packaging"],
        "createdTime": "2026-01-01T00:00:00.000000Z",
    }
    assert (bundle / "app" / "model.pkl").read_bytes() == b"MODEL"
    assert (bundle / "app" / "score.py").read_bytes() == SCORE
    assert (bundle / "driver.py").read_bytes() == DRIVER
    assert (bundle / "requirements.txt").read_text() == "packaging\n"
    dockerfile = (bundle / "Dockerfile").read_text()
    assert "RUN pip install --no-cache-dir httptools uvloop -r requirements.txt" in dockerfile
    assert "for image churnimage:4" in dockerfile
    log = (bundle / "build.log").read_text().splitlines()
    assert log[0].endswith("building image churnimage:4 (img-1)") and log[-1] == "Build succeeded."
    assert "driver: app/score.py, schema: app/service_schema.json" in log
    for path in [bundle, *bundle.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o555 if path.is_dir() else 0o444), path
    assert list(kit.paths.tmp.iterdir()) == []


def test_single_py_is_the_driver_when_the_wrapper_names_none(kit: Kit):
    bundle = kit.builder.build(kit.request(files={"main.py": SCORE}, driver=b"import sys\n", pip=None))
    meta = json.loads((bundle / "image.json").read_text())
    assert (meta["driver"], meta["schema"], meta["requirements"]) == ("main.py", None, [])
    assert "-r requirements.txt" not in (bundle / "Dockerfile").read_text()


def test_plain_model_file_is_copied_under_its_name(kit: Kit):
    url = kit.url(b"RAW")
    request = kit.request()
    model = Model(
        "p" * 32, "rg/acct", "weights.bin", 1, (), None, url, "application/octet-stream", False, "t"
    )
    bundle = kit.builder.build(BuildRequest(request.image, request.manifest, (model,)))
    assert (bundle / "app" / "weights.bin").read_bytes() == b"RAW"


@pytest.mark.parametrize(
    ("files", "driver", "reason"),
    [
        ({"a.py": SCORE, "b.py": SCORE}, b"import a\n", "driver.py names no .py file of app/ (found: a.py, b.py)"),
        ({"score.py": b"def run(:\n"}, DRIVER, "the scoring driver score.py does not compile: SyntaxError"),
        ({"score.py": SCORE, "service_schema.json": b"{nope"}, DRIVER, "the schema file service_schema.json is not valid JSON"),
        ({"score.py": SCORE}, b"def broken(:\n", "the generated driver driver.py does not compile"),
    ],
)  # fmt: skip
def test_driver_and_schema_failures(kit: Kit, files, driver, reason):
    assert reason in kit.failure(kit.request(files=files, driver=driver))


def test_syntax_error_names_the_line(kit: Kit):
    reason = kit.failure(kit.request(files={"score.py": b"x = 1\ny = (\n"}))
    assert "(line 2)" in reason or "(line 3)" in reason


def test_requirements_are_checked_in_the_serving_interpreter(kit: Kit):
    reason = kit.failure(kit.request(pip="packaging\nno-such-distribution-xyz==1.0\n"))
    assert reason == (
        f"requirement 'no-such-distribution-xyz==1.0' is not installed in the serving interpreter ({sys.executable})"
    )
    other = Kit(kit.paths.home.parent / "again")  # the first failure already published images/img-1
    reason = other.failure(other.request(pip="packaging<1\n"))
    assert "requirement 'packaging<1' is not satisfied" in reason and "does not satisfy it" in reason


def test_runtime_provided_options_and_markers_pass(kit: Kit):
    pip = "# comment\n--index-url https://example.invalid/simple\nazure-ml-api-sdk==0.1.0a11\n"
    pip += "nothing-here; python_version < '3'\npackaging\n"
    bundle = kit.builder.build(kit.request(pip=pip))
    log = (bundle / "build.log").read_text()
    assert "ignoring pip option line '--index-url https://example.invalid/simple'" in log
    assert "'azure-ml-api-sdk==0.1.0a11': provided by the mlops runtime" in log
    assert "environment marker does not apply" in log


def test_conda_file(kit: Kit):
    conda = (
        "dependencies:\n  - python=3.11\n  - pip\n  - packaging\n  - pip:\n    - no-such-distribution-xyz\n"
    )
    assert "'no-such-distribution-xyz' is not installed" in kit.failure(kit.request(pip=None, conda=conda))


def test_unparsable_conda_file(kit: Kit):
    assert "the conda file could not be parsed" in kit.failure(kit.request(conda="- just\n- a list\n"))


def test_archives_must_be_tar_and_stay_inside_app(kit: Kit, tmp_path: Path):
    not_tar = (
        Asset("driver", kit.url(DRIVER), None, None),
        Asset("dep1", kit.url(b"plain bytes"), None, True),
    )
    assert "asset dep1 is not a valid tar.gz archive" in kit.failure(kit.request(assets=not_tar))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = len(SCORE)
        tar.addfile(info, io.BytesIO(SCORE))
    other = Kit(tmp_path / "second")
    escaping = (
        Asset("driver", other.url(DRIVER), None, None),
        Asset("dep1", other.url(buf.getvalue()), None, True),
    )
    assert "asset dep1 is not a valid tar.gz archive or could not be unpacked" in other.failure(
        other.request(assets=escaping)
    )
    assert not (other.paths.tmp.parent / "escape.py").exists()


def test_missing_artifact_and_driver(kit: Kit, tmp_path: Path):
    gone = "artifact://sha256/" + "0" * 64
    missing = (Asset("driver", gone, None, None),)
    assert "the driver asset: artifact " in kit.failure(kit.request(assets=missing))
    other = Kit(tmp_path / "second")
    no_driver = (Asset("dep1", other.url(targz({"score.py": SCORE})), None, True),)
    assert "the manifest has no driver asset" in other.failure(other.request(assets=no_driver))


def test_serving_interpreter_that_cannot_run(tmp_path: Path):
    kit = Kit(tmp_path, python=str(tmp_path / "no-python"))
    assert f"the serving interpreter {tmp_path / 'no-python'} does not exist" in kit.failure(kit.request())


def test_requirement_parsing_helpers():
    assert depcheck.pip_lines("a==1 # pinned\n\n-r other.txt\n  b>2\n") == (["a==1", "b>2"], ["-r other.txt"])
    conda = "dependencies:\n  - python=3.11\n  - numpy=1.26=py311h\n  - scikit-learn 1.4\n  - conda-forge::pandas\n"
    conda += "  - pip:\n    - requests>=2\n"
    assert depcheck.conda_lines(conda) == ["numpy==1.26.*", "scikit-learn==1.4.*", "pandas", "requests>=2"]
    with pytest.raises(TypeError):
        depcheck.conda_lines("- not a mapping\n")
