"""Batch entry script for the churn model: Azure ML's ParallelRunStep contract (``init()`` + ``run(mini_batch)``).

``run`` receives a pandas DataFrame of CSV rows (a tabular mini-batch) and returns one label per row, in row
order ("0" / "1"), so with ``output_action=append_row`` the output file has one prediction per input row.  The
answers are the realtime service's: the model is loaded by ``score.init()`` (``$AZUREML_MODEL_DIR``,
``./model.pkl`` or ``model.pkl`` next to these files) and rows are scored by ``score.predict_frame``, the
vectorized form of ``score.run``'s encoding.  Ship it with ``score.py`` beside it (the source directory); it runs
unchanged under Azure ML's ParallelRunStep and under ``mlops_engine.batch``.
"""

from __future__ import annotations

from typing import Any

import score  # the realtime scoring script, a sibling file in the source directory


def init() -> None:
    score.init()


def run(mini_batch: Any) -> list[str]:
    return score.predict_frame(mini_batch)
