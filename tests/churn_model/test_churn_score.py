from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from churn_model import features, score

SAMPLE = json.loads(score.SAMPLE_REQUEST)["input_df"]


def _batch_labels(result, raw_rows: pd.DataFrame) -> list[str]:
    """The model's prediction on rows encoded by the training pipeline (with the training levels)."""
    artifact = pd.read_pickle(result.model_path)
    enc = features.encode(raw_rows, categories=artifact["categories"])
    assert enc.feature_names == artifact["features"]
    return [str(p) for p in result.model.predict(enc.features.to_numpy()).tolist()]


def test_declares_records_input():
    assert score.MLOPS_INPUT == "records"


def test_sample_row_answers_quoted_zero_for_every_input_form(scorer):
    mod, _ = scorer
    body = score.SAMPLE_REQUEST
    assert mod.run(SAMPLE) == '"0"'
    assert mod.run(pd.DataFrame(SAMPLE)) == '"0"'
    assert mod.run(body) == '"0"'
    assert mod.run(body.encode()) == '"0"'
    assert mod.run(json.loads(body)) == '"0"'
    assert json.loads(mod.run(SAMPLE)) == "0"  # what the CLI prints after decoding the replica's JSON: "0"


def test_multi_row_request_scores_each_row_with_its_own_encoding(scorer, raw):
    mod, result = scorer
    expected_all = _batch_labels(result, raw.head(3000))
    # two churners and a non-churner: the legacy script would mix their dummies and answer only for row 0
    ones = [i for i, label in enumerate(expected_all) if label == "1"][:2]
    zero = next(
        i for i, label in enumerate(expected_all) if label == "0" and raw.state[i] != raw.state[ones[0]]
    )
    rows = raw.iloc[[ones[0], zero, ones[1]]]
    labels = json.loads(mod.run(rows.to_dict("records")))
    assert labels == _batch_labels(result, rows) == ["1", "0", "1"]
    assert json.loads(mod.run(rows)) == labels  # DataFrame path agrees


def test_large_batch_agrees_with_training_pipeline(scorer, raw):
    mod, result = scorer
    rows = raw.sample(500, random_state=0)
    assert json.loads(mod.run(rows.to_dict("records"))) == _batch_labels(result, rows)


def test_unseen_category_encodes_as_zero_dummies(scorer, raw):
    mod, result = scorer
    row = dict(SAMPLE[0], state="ZZ", education="Kindergarten")
    label = json.loads(mod.run([row]))
    assert label in ("0", "1")
    assert [label] == _batch_labels(result, pd.DataFrame([row]))
    assert mod._encode([row])[0, 16:].sum() == 8  # 10 categoricals, 2 unseen


def test_optional_and_missing_values(scorer):
    mod, _ = scorer
    row = {k: v for k, v in SAMPLE[0].items() if k not in ("churn", "year", "month")}
    assert mod.run([row]) == '"0"'
    x = mod._encode([dict(row, callfailurerate=None, calldroprate=float("nan"), age="12")])
    assert x[0, 2] == 0.0 and x[0, 3] == 0.0 and x[0, 0] == 12.0
    assert mod.run([]) == "[]"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{k: v for k, v in SAMPLE[0].items() if k != "age"}], "row 0: missing column 'age'"),
        ([SAMPLE[0], dict(SAMPLE[0], unpaidbalance="lots")], "row 1: column 'unpaidbalance'"),
        ([dict(SAMPLE[0], state=["WA"])], "row 0: column 'state'"),
        ([SAMPLE[0], 3], "list of row objects"),
        ('{"input_df": [{"age": 1}', "not valid JSON"),
        ({"rows": []}, 'expected {"input_df"'),
        (42, "unsupported input type int"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(scorer, rows, message):
    mod, _ = scorer
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("{", r"\{")):
        mod.run(rows)


def test_init_search_order(trained_nb, trained_dt, tmp_path, monkeypatch):
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    shutil.copy(trained_dt.model_path, tmp_path / "model.pkl")
    monkeypatch.chdir(tmp_path)
    score.init()  # ./model.pkl, the legacy image layout
    assert type(score._model).__name__ == "CompiledTree"
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(trained_nb[0].model_path.parent))
    score.init()  # the explicit deployment setting wins
    assert type(score._model).__name__ == "CompiledGaussianNB"
    with pytest.raises(FileNotFoundError, match="train first"):
        score.init(tmp_path / "missing.pkl")
    bogus = tmp_path / "bogus.pkl"
    bogus.write_bytes(__import__("pickle").dumps({"not": "ours"}))
    with pytest.raises(ValueError, match="not an mlops-churn-model"):
        score.init(bogus)


def test_run_before_init_is_a_clear_error():
    spec = importlib.util.spec_from_file_location("fresh_score", score.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    with pytest.raises(RuntimeError, match="init"):
        fresh.run(SAMPLE)


def test_score_module_is_standalone_and_lean(tmp_path, trained_nb):
    # shipped alone next to model.pkl: no churn_model import, and pandas not imported by score.py itself
    shutil.copy(score.__file__, tmp_path / "score.py")
    shutil.copy(trained_nb[0].model_path, tmp_path / "model.pkl")
    code = (
        "import sys; sys.path.insert(0, '.'); import score; assert 'pandas' not in sys.modules; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"
    out = subprocess.run(
        [sys.executable, "-I", "score.py"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == '"0"'


def test_encoding_shape_and_dtype(scorer):
    mod, _ = scorer
    x = mod._encode(SAMPLE * 4)
    assert x.shape == (4, 86) and x.dtype == np.float64 and (x[0] == x[3]).all()
