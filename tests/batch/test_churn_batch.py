"""The churn batch entry script over all 20,468 rows equals the realtime score.py's answers for the same rows."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from mlops_engine.batch import BatchJob, JobState, ParallelJobSpec, settings_from_params

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / "churn_model" / "CATelcoCustomerChurnTrainingSample.csv"


@pytest.fixture(scope="module", params=["naive_bayes", "decision_tree"])
def source_dir(request, tmp_path_factory):
    """The entry script, score.py and a freshly trained model.pkl in one source folder (as shipped)."""
    from churn_model import train

    folder = tmp_path_factory.mktemp(request.param)
    result = train.train(request.param, outputs=folder / "outputs", echo=lambda _: None)
    for name in ("batch_score.py", "score.py"):
        shutil.copyfile(REPO / "churn_model" / name, folder / name)
    shutil.copyfile(result.model_path, folder / "model.pkl")
    return folder


def _realtime_labels(model: Path) -> list[str]:
    """What the realtime service answers: score.run() on the rows as JSON records, in request-sized chunks."""
    import pandas as pd

    sys.path.insert(0, str(REPO / "churn_model"))
    try:
        import score
    finally:
        sys.path.remove(str(REPO / "churn_model"))
    score.init(model)
    rows = pd.read_csv(CSV).to_dict("records")
    labels: list[str] = []
    for i in range(0, len(rows), 1000):
        labels += json.loads(score.run(rows[i : i + 1000]))
    return labels


def test_batch_predictions_equal_the_realtime_answers_for_every_row(source_dir, tmp_path):
    spec = ParallelJobSpec(
        str(source_dir / "batch_score.py"),
        (str(CSV),),
        str(tmp_path / "out"),
        settings_from_params(["mini_batch_size=256KB", "process_count_per_node=2", "error_threshold=0"]),
    )
    result = BatchJob("churn", tmp_path / "job", spec).run()
    assert result.state == JobState.SUCCEEDED, result.first_error
    lines = Path(result.output_path).read_text().splitlines()
    assert len(lines) == result.items_done == 20468 and result.batches_total > 5
    assert lines == _realtime_labels(source_dir / "model.pkl")
    assert set(lines) <= {"0", "1"}
