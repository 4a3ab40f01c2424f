"""The sdist and the wheel carry what an installed mlops needs, and never what the churn lab leaves behind.

Built offline from a copy of the package folders (python -m build --no-isolation: sdist, then the wheel
from the sdist), after planting the files a lab run writes into churn_model/. That the wheel then works
on its own, from an empty directory in a fresh environment, is checked by .ci/wheel-check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest
from orchestrator_testkit import REPO

LAB_LEFTOVERS = ("model.pkl", "service_schema.json", "customer10.json", "train.log", "outputs/model.pkl")
NEEDED = (
    "orchestrator/data/recipes/churn-deploy.yaml",
    "orchestrator/data/recipes/update-service.yaml",
    "orchestrator/data/recipes/rollback.yaml",
    "orchestrator/data/schemas/recipe.schema.json",
    "orchestrator/data/schemas/cassette.schema.json",
    "churn_model/CATelcoCustomerChurnTrainingSample.csv",
    "churn_model/score.py",
    "churn_model/train.py",
    "churn_model/schema.py",
    "mlops_engine/__main__.py",
    "mlops_engine/cli/helps.json",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str], str]:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    for package in ("mlops_engine", "orchestrator", "churn_model"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for leftover in LAB_LEFTOVERS:  # a checkout right after the lab's commands ran in churn_model/
        path = src / "churn_model" / leftover
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left by the lab\n")
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n(pip install -e '.[test]')"
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        wheel_files = zf.namelist()
        metadata = zf.read(next(n for n in wheel_files if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = zf.read(
            next(n for n in wheel_files if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    with tarfile.open(sdist) as tf:
        sdist_files = [name.split("/", 1)[1] for name in tf.getnames() if "/" in name]
    return wheel_files, sdist_files, metadata + entry_points


def test_the_lab_s_leftovers_are_never_shipped(built):
    wheel_files, sdist_files, _meta = built
    for leftover in LAB_LEFTOVERS:
        assert f"churn_model/{leftover}" not in wheel_files
        assert f"churn_model/{leftover}" not in sdist_files
    assert not [n for n in wheel_files + sdist_files if n.endswith((".pkl", ".log"))]


def test_everything_an_installed_mlops_reads_is_in_the_wheel(built):
    wheel_files, sdist_files, _meta = built
    for name in NEEDED:
        assert name in wheel_files
        assert name in sdist_files  # the wheel is built from the sdist
    assert not [n for n in wheel_files if n.startswith(("tests/", "bench/", "labs/", "recipes/", "schemas/"))]


def test_license_and_console_scripts(built):
    wheel_files, sdist_files, meta = built
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel_files) and "LICENSE" in sdist_files
    assert "License-Expression: MIT" in meta
    for script in ("mlops = orchestrator.cli:entry", "az = mlops_engine.cli.main:entry", "mlops-az = "):
        assert script in meta


def test_the_license_file():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the mlops authors\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_the_lab_s_leftovers_are_gitignored():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.fail("this test needs the git checkout (.git) and git")
    names = [f"churn_model/{leftover}" for leftover in LAB_LEFTOVERS]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert sorted(proc.stdout.split()) == sorted(names)
