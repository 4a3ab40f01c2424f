"""Shared fixtures: train each model once per session on the full CSV (about 1.5 s each)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the project is not installed in the dev venv; make `churn_model` importable
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def raw():
    from churn_model import features

    return features.read_raw()


@pytest.fixture(scope="session")
def trained_nb(tmp_path_factory):
    from churn_model import train

    lines: list[str] = []
    result = train.train("naive_bayes", outputs=tmp_path_factory.mktemp("nb") / "outputs", echo=lines.append)
    return result, lines


@pytest.fixture(scope="session")
def trained_dt(tmp_path_factory):
    from churn_model import train

    result = train.train(
        "decision_tree", outputs=tmp_path_factory.mktemp("dt") / "outputs", echo=lambda _: None
    )
    return result


@pytest.fixture(params=["naive_bayes", "decision_tree"])
def scorer(request, trained_nb, trained_dt):
    """The score module initialised with one of the two trained models."""
    from churn_model import score

    result = trained_nb[0] if request.param == "naive_bayes" else trained_dt
    score.init(result.model_path)
    return score, result
