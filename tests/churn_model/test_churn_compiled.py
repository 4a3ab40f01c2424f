"""The numpy-only compiled form: same answers as the sklearn estimator on every row, and a lean serving process."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

from churn_model import compiled, features, score

SAMPLE = json.loads(score.SAMPLE_REQUEST)["input_df"]
N_ROWS = 20468


@pytest.fixture(scope="module")
def design(raw):
    """The whole dataset as training encodes it: (20468, 86) float64."""
    x = features.encode(raw).features.to_numpy(dtype=np.float64)
    assert x.shape == (N_ROWS, 86)
    return x


def _artifact(result):
    return pickle.loads(result.model_path.read_bytes())


@pytest.fixture(params=["naive_bayes", "decision_tree"])
def model(request, trained_nb, trained_dt):
    """(artifact dict, the fitted sklearn estimator) for one of the two trained models."""
    result = trained_nb[0] if request.param == "naive_bayes" else trained_dt
    artifact = _artifact(result)
    return artifact, compiled.load_estimator(artifact)


def test_compiled_predict_equals_sklearn_on_every_row(model, design):
    artifact, est = model
    expected = est.predict(design)
    got = compiled.predict(artifact["compiled"], design)
    assert got.shape == (N_ROWS,) and got.tolist() == expected.tolist()
    assert set(expected.tolist()) == {0, 1}  # both classes occur, so the comparison means something
    predictor = score.load_compiled(artifact["compiled"])
    singles = range(0, N_ROWS, 97)  # one row at a time too (the tree's row-loop path)
    assert [predictor.predict(design[i : i + 1])[0] for i in singles] == expected[singles].tolist()


def test_naive_bayes_joint_log_likelihood_is_bit_identical(trained_nb, design):
    artifact = _artifact(trained_nb[0])
    est = compiled.load_estimator(artifact)
    ours = score.load_compiled(artifact["compiled"]).joint_log_likelihood(design)
    assert np.array_equal(ours, est._joint_log_likelihood(design))  # exact, not approx: argmax cannot differ


def test_tree_row_loop_and_level_walk_both_equal_sklearn(trained_dt, design):
    artifact = _artifact(trained_dt)
    est = compiled.load_estimator(artifact)
    tree = score.load_compiled(artifact["compiled"])
    expected = np.argmax(est.predict_proba(design), axis=1)
    x32 = design.astype(np.float32)  # sklearn's trees compare float32 inputs
    assert tree.class_index_rows(x32).tolist() == expected.tolist()
    assert tree.class_index_levels(x32).tolist() == expected.tolist()
    assert est.get_depth() == tree.depth > 20  # the level walk really goes deep


def test_tree_routes_missing_values_like_sklearn(trained_dt, design):
    artifact = _artifact(trained_dt)
    est = compiled.load_estimator(artifact)
    rng = np.random.default_rng(0)
    x = design[rng.choice(N_ROWS, 2000, replace=False)].copy()
    x[rng.random(x.shape) < 0.2] = np.nan  # sklearn's tree accepts NaN (missing_go_to_left)
    tree = score.load_compiled(artifact["compiled"])
    expected = est.predict(x).tolist()
    assert tree.class_index_rows(x.astype(np.float32)).tolist() == expected
    assert tree.class_index_levels(x.astype(np.float32)).tolist() == expected


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # sklearn's float32 cast
def test_non_finite_input_is_rejected_like_sklearn(model):
    artifact, est = model
    row = np.zeros((1, 86))
    row[0, 3] = np.inf if artifact["model_name"] == "naive_bayes" else 1e39  # 1e39 overflows float32
    with pytest.raises(ValueError):
        est.predict(row)
    with pytest.raises(ValueError, match="infinity"):
        compiled.predict(artifact["compiled"], row)
    with pytest.raises(ValueError, match="86 features"):
        compiled.predict(artifact["compiled"], np.zeros((1, 85)))


def test_run_rejects_infinite_numbers(scorer):
    mod, _ = scorer
    with pytest.raises(ValueError, match="infinity"):
        mod.run(score.SAMPLE_REQUEST.replace('"unpaidbalance": 19', '"unpaidbalance": Infinity'))


def test_unsupported_estimator_and_kind():
    with pytest.raises(TypeError, match="cannot compile"):
        compiled.compile_estimator(object())
    with pytest.raises(ValueError, match="unknown compiled model kind"):
        score.load_compiled({"kind": "svm"})


def test_format_1_artifact_still_scores(trained_dt, tmp_path, raw):
    # an artifact written before the compiled form: the estimator itself under "model"
    artifact = _artifact(trained_dt)
    old = {k: v for k, v in artifact.items() if k not in ("compiled", "estimator_pickle")}
    old.update(format_version=1, model=compiled.load_estimator(artifact))
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(old, protocol=5))
    assert compiled.load_estimator(old) is old["model"]
    score.init(path)
    assert type(score._model).__name__ == "DecisionTreeClassifier"
    assert score.run(SAMPLE) == '"0"'
    rows = raw.sample(200, random_state=1).to_dict("records")
    fallback = score.run(rows)
    score.init(trained_dt.model_path)
    assert score.run(rows) == fallback


@pytest.mark.parametrize("model_name", ["naive_bayes", "decision_tree"])
def test_serving_imports_neither_sklearn_nor_pandas(model_name, trained_nb, trained_dt, tmp_path):
    # the shipped layout: score.py alone next to model.pkl, isolated interpreter
    result = trained_nb[0] if model_name == "naive_bayes" else trained_dt
    shutil.copy(score.__file__, tmp_path / "score.py")
    shutil.copy(result.model_path, tmp_path / "model.pkl")
    code = (
        "import json, sys; sys.path.insert(0, '.'); import score\n"
        "score.init()\n"
        "one = json.loads(score.SAMPLE_REQUEST)['input_df']\n"
        "assert score.run(one) == '\"0\"' and json.loads(score.run(one * 3)) == ['0', '0', '0']\n"
        "assert json.loads(score.run(one * 100)) == ['0'] * 100\n"
        "heavy = [m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules]\n"
        "rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:'))\n"
        "print(json.dumps({'heavy': heavy, 'rss_kb': rss}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    assert report["heavy"] == []
    assert report["rss_kb"] < 150 * 1024  # the replica budget; numpy-only serving measures about 27 MB
