from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from churn_model import compiled, features, train

NUMERIC = [
    "age", "annualincome", "calldroprate", "callfailurerate", "callingnum", "customerid", "monthlybilledamount",
    "numberofcomplaints", "numberofmonthunpaid", "numdayscontractequipmentplanexpiring", "penaltytoswitch",
    "totalminsusedinlastmonth", "unpaidbalance", "percentagecalloutsidenetwork", "totalcallduration",
    "avgcallduration",
]  # fmt: skip


def test_row_split_matches_lab_reference(trained_nb):
    scores = trained_nb[0].row_split
    assert scores.naive_bayes == pytest.approx(0.9008, abs=0.01)
    assert scores.decision_tree == pytest.approx(0.9091, abs=0.01)
    assert scores.baseline == pytest.approx(0.9075, abs=0.01)
    assert (scores.n_train, scores.n_test) == (14327, 6141)


def test_grouped_split_matches_reference(trained_nb):
    result = trained_nb[0]
    g = result.grouped_split
    assert g.naive_bayes == pytest.approx(0.9089, abs=0.01)
    assert g.decision_tree == pytest.approx(0.8380, abs=0.01)
    assert g.baseline == pytest.approx(0.9180, abs=0.01)
    assert result.seen_customer_fraction == pytest.approx(0.74, abs=0.01)


def test_output_prints_figures_and_explanation(trained_nb):
    text = "\n".join(trained_nb[1])
    assert "Naive Bayes Accuracy is 0.9008" in text
    assert "DTree Accuracy is 0.9091" in text
    assert "baseline" in text and "customer" in text
    assert "74% of its test rows" in text


def test_features_match_lab_order(raw):
    enc = features.encode(raw)
    names = enc.feature_names
    assert len(names) == 86
    assert names[:16] == NUMERIC == enc.numeric
    assert names[16:18] == ["customersuspended_No", "customersuspended_Yes"]
    assert names[-4:] == [
        "usesinternetservice_No",
        "usesinternetservice_Yes",
        "usesvoiceservice_No",
        "usesvoiceservice_Yes",
    ]
    assert list(enc.categories) == [
        "customersuspended", "education", "gender", "homeowner", "maritalstatus", "noadditionallines",
        "occupation", "state", "usesinternetservice", "usesvoiceservice",
    ]  # fmt: skip
    assert len(enc.categories["state"]) == 50 and enc.categories["noadditionallines"] == ["\\N"]
    assert str(enc.features.dtypes.unique()[0]) == "float64"


def test_artifact_and_metrics(trained_nb):
    result = trained_nb[0]
    with result.model_path.open("rb") as fh:
        assert fh.read(2) == b"\x80\x05"  # pickle protocol 5
    artifact = pickle.loads(result.model_path.read_bytes())
    assert artifact["format"] == "mlops-churn-model" and artifact["model_name"] == "naive_bayes"
    assert artifact["format_version"] == 2 and "model" not in artifact
    assert artifact["compiled"]["kind"] == "gaussian_nb" and isinstance(artifact["estimator_pickle"], bytes)
    assert isinstance(compiled.load_estimator(artifact), GaussianNB)
    assert len(artifact["features"]) == 86 and len(artifact["input_columns"]) == 29
    metrics = json.loads(result.metrics_path.read_text())
    assert metrics["model"] == "naive_bayes" and metrics["n_features"] == 86
    assert metrics["grouped_split"]["decision_tree"] == pytest.approx(0.838, abs=0.01)


def test_model_pkl_loads_without_churn_model(trained_nb, tmp_path):
    # -I: isolated mode, so neither the repo nor PYTHONPATH is importable. The outer dict needs only numpy; the
    # nested estimator pickle needs scikit-learn, and only when someone unpickles it.
    code = (
        "import pickle, sys, joblib\n"
        f"a = pickle.load(open({str(trained_nb[0].model_path)!r}, 'rb'))\n"
        f"b = joblib.load({str(trained_nb[0].model_path)!r})\n"
        "assert 'sklearn' not in sys.modules and 'scipy' not in sys.modules and 'pandas' not in sys.modules\n"
        "est = pickle.loads(b['estimator_pickle'])\n"
        "assert 'churn_model' not in sys.modules\n"
        "print(a['compiled']['kind'], len(a['features']), type(est).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["gaussian_nb", "86", "GaussianNB"]


def test_cli_decision_tree_and_missing_data(tmp_path, capsys):
    assert train.main(["--model", "decision_tree", "--outputs", str(tmp_path / "out")]) == 0
    artifact = pickle.loads((tmp_path / "out" / "model.pkl").read_bytes())
    assert isinstance(compiled.load_estimator(artifact), DecisionTreeClassifier)
    assert artifact["model_name"] == "decision_tree" and artifact["compiled"]["kind"] == "decision_tree"
    assert "Saved DTree model" in capsys.readouterr().out
    assert train.main(["--data", str(tmp_path / "nope.csv"), "--outputs", str(tmp_path / "x")]) == 1
    assert "nope.csv" in capsys.readouterr().err
