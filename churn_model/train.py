"""Train the churn lab's models, report honest figures next to the lab's, and write ``outputs/model.pkl``.

Faithful to ``CATelcoCustomerChurnModelingWithoutDprep.py`` (churn-lab.md §1.3): same cleaning and one-hot encoding
(see ``features.py``), ``train_test_split(random_state=42, test_size=0.3)`` on rows, ``GaussianNB()`` and
``DecisionTreeClassifier(min_samples_split=20, random_state=99)`` fitted on the float design matrix.  The model that
goes to ``model.pkl`` is the one fitted on the row split's training part, as in the lab; Naive Bayes by default (the
sample at HEAD), the tree with ``--model decision_tree`` (lab 04.2 §3 edits the script to pickle ``dt``).

What the lab did not show, and this script prints: the majority-class baseline, and the same models evaluated on a
split grouped by customer, because the data has one row per customer *per month* and a row split leaks customers.

``model.pkl`` format (pickle protocol 5; ``joblib.load`` reads it too) is a plain dict of numpy arrays and plain
Python values, so unpickling needs only numpy -- not scikit-learn, not this package::

    {"format": "mlops-churn-model", "format_version": 2, "model_name": "naive_bayes" | "decision_tree",
     "compiled": <numpy-only form of the fitted estimator, what score.py predicts with; see compiled.py>,
     "estimator_pickle": <bytes: pickle of the fitted sklearn estimator, fitted on a float64 numpy array (no
                          feature_names_in_); churn_model.compiled.load_estimator(artifact) unpickles it>,
     "features": [86 feature names in column order], "numeric_features": [the 16 numeric ones, first],
     "categories": {column: [levels in dummy order]}, "input_columns": [the 29 CSV columns],
     "ignored_columns": ["churn", "year", "month"], "sklearn_version": "1.9.1"}

Format 1 (before the compiled form) had the estimator itself under ``model``; ``score.py`` and ``load_estimator``
still read it.

The estimator is fitted on numpy rather than a DataFrame so that ``predict`` on the numpy rows ``score.py`` builds
neither warns about missing feature names nor pays for the name check on the hot path.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import sklearn
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from churn_model import compiled, features

ARTIFACT_FORMAT: Final = "mlops-churn-model"
ARTIFACT_VERSION: Final = 2
SPLIT_SEED: Final = 42
TEST_SIZE: Final = 0.3
MODELS: Final[dict[str, Callable[[], ClassifierMixin]]] = {
    "naive_bayes": lambda: GaussianNB(),
    "decision_tree": lambda: DecisionTreeClassifier(min_samples_split=20, random_state=99),
}
LABELS: Final = {"naive_bayes": "Naive Bayes", "decision_tree": "DTree"}

LEAKAGE_NOTE: Final = (
    "Why the two splits disagree: the table has one row per customer per month, and apart from the call "
    "durations every column (churn included, and customerid itself is a feature) is the same in all of a "
    "customer's rows. The lab's split shuffles rows, so {seen:.0%} of its test rows belong to customers whose "
    "other months are in the training set; the decision tree effectively looks those customers up instead of "
    "predicting. Splitting by customer keeps each customer on one side, which is how the service is used "
    "(new customers). There the tree falls to {dt:.4f}, below the {base:.4f} of always answering 'no churn', "
    "and Naive Bayes ({nb:.4f}) is no better than that baseline either: neither model beats the majority class."
)


@dataclass(frozen=True)
class SplitScores:
    """Test accuracies of both models and of the majority-class baseline on one split."""

    naive_bayes: float
    decision_tree: float
    baseline: float
    n_train: int
    n_test: int


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` produced: figures, the chosen fitted model and where things were written."""

    row_split: SplitScores
    grouped_split: SplitScores
    seen_customer_fraction: float
    model_name: str
    model: ClassifierMixin
    model_path: Path
    metrics_path: Path


def _fit_score(
    x: np.ndarray, y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray
) -> tuple[SplitScores, dict[str, ClassifierMixin]]:
    fitted: dict[str, ClassifierMixin] = {}
    acc: dict[str, float] = {}
    for name, factory in MODELS.items():
        est = factory()
        est.fit(x[train_idx], y[train_idx])
        fitted[name] = est
        acc[name] = float(accuracy_score(y[test_idx], est.predict(x[test_idx])))
    majority = np.bincount(y[train_idx]).argmax()
    baseline = float(np.mean(y[test_idx] == majority))
    scores = SplitScores(acc["naive_bayes"], acc["decision_tree"], baseline, len(train_idx), len(test_idx))
    return scores, fitted


def build_artifact(
    model_name: str, model: ClassifierMixin, enc: features.Encoded, input_columns: Sequence[str]
) -> dict[str, Any]:
    """The dict pickled as ``model.pkl`` (format in the module docstring)."""
    return {
        "format": ARTIFACT_FORMAT,
        "format_version": ARTIFACT_VERSION,
        "model_name": model_name,
        "compiled": compiled.compile_estimator(model),
        "estimator_pickle": pickle.dumps(model, protocol=5),
        "features": enc.feature_names,
        "numeric_features": list(enc.numeric),
        "categories": {c: list(levels) for c, levels in enc.categories.items()},
        "input_columns": [str(c) for c in input_columns],
        "ignored_columns": [features.TARGET, *features.DROPPED],
        "sklearn_version": sklearn.__version__,
    }


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the artifact is meant to be copied into images
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def train(
    model_name: str = "naive_bayes",
    data: str | Path = features.DEFAULT_CSV,
    outputs: str | Path = "outputs",
    echo: Callable[[str], None] = print,
) -> TrainResult:
    """Run the lab's training, print its figures plus the honest ones, write model.pkl and metrics.json."""
    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; choose one of {', '.join(MODELS)}")
    raw = features.read_raw(data)
    enc = features.encode(raw)
    x = enc.features.to_numpy(dtype=np.float64)
    y = enc.target.to_numpy(dtype=np.int64)
    groups = enc.groups.to_numpy()
    rows = np.arange(len(y))

    train_idx, test_idx = train_test_split(rows, random_state=SPLIT_SEED, test_size=TEST_SIZE)
    row_scores, fitted = _fit_score(x, y, train_idx, test_idx)
    seen = float(np.isin(groups[test_idx], groups[train_idx]).mean())
    gss = GroupShuffleSplit(n_splits=1, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    g_train, g_test = next(gss.split(x, y, groups=groups))
    grouped_scores, _ = _fit_score(x, y, g_train, g_test)

    echo(f"Naive Bayes Accuracy is {row_scores.naive_bayes:.4f}")
    echo(f"DTree Accuracy is {row_scores.decision_tree:.4f}")
    echo(
        f"Majority-class baseline (always {np.bincount(y[train_idx]).argmax()}) is {row_scores.baseline:.4f}"
    )
    echo(
        f"Split by customer (GroupShuffleSplit test_size={TEST_SIZE}, seed {SPLIT_SEED} on {features.GROUP}):"
    )
    echo(f"  Naive Bayes Accuracy is {grouped_scores.naive_bayes:.4f}")
    echo(f"  DTree Accuracy is {grouped_scores.decision_tree:.4f}")
    echo(f"  Majority-class baseline is {grouped_scores.baseline:.4f}")
    echo(
        LEAKAGE_NOTE.format(
            seen=seen,
            dt=grouped_scores.decision_tree,
            base=grouped_scores.baseline,
            nb=grouped_scores.naive_bayes,
        )
    )

    out = Path(outputs)
    model = fitted[model_name]
    artifact = build_artifact(model_name, model, enc, raw.columns)
    model_path = out / "model.pkl"
    _write_atomic(model_path, pickle.dumps(artifact, protocol=5))
    metrics = {
        "model": model_name,
        "n_features": len(enc.feature_names),
        "row_split": row_scores.__dict__,
        "grouped_split": grouped_scores.__dict__,
        "row_split_test_rows_with_seen_customer": seen,
    }
    metrics_path = out / "metrics.json"
    _write_atomic(metrics_path, (json.dumps(metrics, indent=2) + "\n").encode())
    echo(f"Saved {LABELS[model_name]} model to {model_path}")
    return TrainResult(row_scores, grouped_scores, seen, model_name, model, model_path, metrics_path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m churn_model.train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", choices=sorted(MODELS), default="naive_bayes", help="model pickled to model.pkl"
    )
    parser.add_argument(
        "--data", default=str(features.DEFAULT_CSV), help="training CSV (default: the lab's sample)"
    )
    parser.add_argument(
        "--outputs", default="outputs", help="output directory (default: ./outputs, as in the lab)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: parse, train, return an exit code (1 with a message if the data file is missing)."""
    args = _parser().parse_args(argv)
    try:
        train(args.model, args.data, args.outputs)
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file; pass --data PATH", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
