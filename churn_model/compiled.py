"""The numpy-only "compiled" form of the churn estimator, stored in ``model.pkl`` next to the estimator itself.

Why: unpickling a fitted scikit-learn estimator imports scikit-learn, which imports scipy and pandas (about 150 MB
of RSS per serving replica before it scores anything), and every ``predict`` call pays sklearn's input validation.
The service only needs the fitted arrays, so training also stores them as plain numpy arrays / Python lists under
``compiled``, and the estimator itself as a *nested* pickle (bytes) under ``estimator_pickle``.  Unpickling the
outer dict then needs only numpy; the estimator is materialised only when someone asks (``load_estimator``).

``compiled`` layouts (``kind`` selects one)::

    {"kind": "gaussian_nb", "classes": [0, 1], "theta": (k, d) float64, "var": (k, d) float64 (the fitted var_,
     var_smoothing's epsilon included), "class_prior": (k,) float64, "n_features": d}
    {"kind": "decision_tree", "classes": [0, 1], "n_features": d, "max_depth": int, "children_left",
     "children_right", "feature": (nodes,) int64 (-1 / -2 at leaves, as in sklearn), "threshold": (nodes,) float64,
     "missing_go_to_left": (nodes,) uint8, "node_class": (nodes,) int64 = argmax of tree_.value per node}

The predictors themselves live in ``score.py``, because that file is shipped alone next to ``model.pkl`` and may
import nothing from this package; ``predict`` here calls them, so there is one implementation.  This module never
imports scikit-learn: ``compile_estimator`` only reads fitted attributes.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np

from churn_model import score


def compile_estimator(estimator: Any) -> dict[str, Any]:
    """The ``compiled`` entry for a fitted ``GaussianNB`` or single-output ``DecisionTreeClassifier``."""
    name = type(estimator).__name__
    if name not in ("GaussianNB", "DecisionTreeClassifier"):
        raise TypeError(f"cannot compile a {name}; supported: GaussianNB, DecisionTreeClassifier")
    classes = np.asarray(estimator.classes_).tolist()
    if name == "GaussianNB":
        return {
            "kind": "gaussian_nb",
            "classes": classes,
            "theta": np.array(estimator.theta_, dtype=np.float64),
            "var": np.array(estimator.var_, dtype=np.float64),
            "class_prior": np.array(estimator.class_prior_, dtype=np.float64),
            "n_features": int(estimator.theta_.shape[1]),
        }
    tree = estimator.tree_
    if estimator.n_outputs_ != 1:
        raise ValueError("only single-output decision trees can be compiled")
    return {
        "kind": "decision_tree",
        "classes": classes,
        "n_features": int(estimator.n_features_in_),
        "max_depth": int(tree.max_depth),
        "children_left": np.array(tree.children_left, dtype=np.int64),
        "children_right": np.array(tree.children_right, dtype=np.int64),
        "feature": np.array(tree.feature, dtype=np.int64),
        "threshold": np.array(tree.threshold, dtype=np.float64),
        "missing_go_to_left": np.array(tree.missing_go_to_left, dtype=np.uint8),
        "node_class": np.argmax(tree.value[:, 0, :], axis=1).astype(np.int64),
    }


def predict(compiled: Mapping[str, Any], x: Any) -> np.ndarray:
    """Labels for the rows of ``x`` (n_rows, n_features), exactly as the compiled estimator's ``predict``.

    Builds the predictor on every call; for repeated calls keep ``score.load_compiled(compiled)`` instead.
    """
    return score.load_compiled(compiled).predict(x)


def load_estimator(artifact: Mapping[str, Any]) -> Any:
    """The fitted scikit-learn estimator of a ``model.pkl`` dict (imports scikit-learn).

    Format 2 keeps it as a nested pickle under ``estimator_pickle``; format 1 had the estimator itself under
    ``model``.
    """
    if "estimator_pickle" in artifact:
        return pickle.loads(artifact["estimator_pickle"])
    return artifact["model"]
