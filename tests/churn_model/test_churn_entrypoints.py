"""The lab's scripts, run the way a student runs them: as programs, from the folder holding them."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from churn_model import features, score

REPO = Path(__file__).resolve().parents[2]

PKG = REPO / "churn_model"
SCRIPTS = ["CATelcoCustomerChurnModelingWithoutDprep.py", "churn_schema_gen.py"]


@pytest.fixture
def lab_dir(tmp_path):
    for name in [*SCRIPTS, features.CSV_NAME]:
        shutil.copy(PKG / name, tmp_path / name)
    return tmp_path


def _run(args, cwd, pythonpath):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_training_script_writes_naive_bayes_by_default(lab_dir):
    out = _run([SCRIPTS[0]], lab_dir, REPO)
    assert out.returncode == 0, out.stderr
    assert "Naive Bayes Accuracy is 0.9008" in out.stdout and "DTree Accuracy is 0.9091" in out.stdout
    artifact = pickle.loads((lab_dir / "outputs" / "model.pkl").read_bytes())
    assert artifact["model_name"] == "naive_bayes"
    assert json.loads((lab_dir / "outputs" / "metrics.json").read_text())["model"] == "naive_bayes"


def test_training_script_tree_then_score_script(lab_dir):
    out = _run([SCRIPTS[0], "--model", "decision_tree"], lab_dir, REPO)
    assert out.returncode == 0, out.stderr
    model = lab_dir / "outputs" / "model.pkl"
    assert pickle.loads(model.read_bytes())["model_name"] == "decision_tree"
    # the lab then copies model.pkl into the project root next to score.py
    shutil.copy(model, lab_dir / "model.pkl")
    shutil.copy(score.__file__, lab_dir / "score.py")
    out = _run(["score.py"], lab_dir, None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '"0"'


def test_schema_script(lab_dir):
    out = _run([SCRIPTS[1]], lab_dir, REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Schema generated"
    doc = json.loads((lab_dir / "service_schema.json").read_text())
    assert doc["input"]["input_df"]["type"] == 3


def test_scripts_work_from_inside_the_package_folder_without_install(tmp_path):
    # a student in churn_model/ with nothing installed: the script puts the folder's parent on sys.path itself
    pkg = tmp_path / "churn_model"
    shutil.copytree(PKG, pkg, ignore=shutil.ignore_patterns("outputs", "__pycache__", "*.pkl", "*.json"))
    out = _run([SCRIPTS[1]], pkg, None)
    assert out.returncode == 0, out.stderr
    assert (pkg / "service_schema.json").is_file()
