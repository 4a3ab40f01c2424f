"""Lab entry point: ``python CATelcoCustomerChurnModelingWithoutDprep.py [--model decision_tree]``.

Keeps the lab text working verbatim when run from this folder: trains on the CSV next to this file and writes
``./outputs/model.pkl`` (Naive Bayes, as the sample at HEAD; ``--model decision_tree`` is lab 04.2 §3's edit).
All logic lives in ``churn_model.train``; other options (``--outputs DIR``, ``--data PATH``) pass through.
"""

# ruff: noqa: N999  (the file name is the lab's, kept verbatim)
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    from churn_model.train import main
except ModuleNotFoundError as exc:  # run from inside churn_model/ without the project installed
    if exc.name != "churn_model":
        raise
    sys.path.insert(0, str(HERE.parent))
    from churn_model.train import main

if __name__ == "__main__":
    raise SystemExit(main(["--data", str(HERE / "CATelcoCustomerChurnTrainingSample.csv"), *sys.argv[1:]]))
