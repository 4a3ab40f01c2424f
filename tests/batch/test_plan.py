from __future__ import annotations

import io

import pandas as pd
import pytest

from mlops_engine.batch import BatchInputError, settings_from_params
from mlops_engine.batch.entry import read_mini_batch
from mlops_engine.batch.plan import make_plan

from .conftest import write_csv


def _touch(path):
    path.write_text("")
    return str(path)


def _frames(plan):
    return [read_mini_batch(b)[0] for b in plan.batches]


def test_tabular_batches_are_whole_records_about_the_size_asked(tmp_path):
    csv = write_csv(tmp_path / "a.csv", 1000)
    plan = make_plan([str(csv)], settings_from_params(["mini_batch_size=1KB"]))
    assert plan.kind == "tabular" and len(plan.batches) > 10
    data = csv.read_bytes()
    header_end = data.index(b"\n") + 1
    assert plan.batches[0].start == header_end and plan.batches[-1].end == len(data)
    for prev, nxt in zip(plan.batches, plan.batches[1:], strict=False):
        assert prev.end == nxt.start and data[prev.end - 1 : prev.end] == b"\n"
        assert 1024 <= prev.end - prev.start < 1024 + 40
    frames = _frames(plan)
    assert [len(f) for f in frames] == [b.items for b in plan.batches]
    assert pd.concat(frames, ignore_index=True).equals(pd.read_csv(csv))


def test_batches_never_cross_files_and_keep_file_order(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "b.csv", 30, start=100)
    write_csv(folder / "a.csv", 50)
    plan = make_plan([str(folder)], settings_from_params(["mini_batch_size=1MB"]))
    assert [(b.path.rsplit("/", 1)[-1], b.items) for b in plan.batches] == [("a.csv", 50), ("b.csv", 30)]
    assert [b.index for b in plan.batches] == [0, 1] and plan.total_items == 80


def test_quoted_newlines_stay_inside_their_record(tmp_path):
    csv = tmp_path / "q.csv"
    rows = ["id,text"] + [f'{i},"line one\nline ""two"" {i}"' for i in range(200)]
    csv.write_text("\n".join(rows) + "\n")
    plan = make_plan([str(csv)], settings_from_params(["mini_batch_size=100"]))
    assert len(plan.batches) > 20 and plan.total_items == 200
    assert pd.concat(_frames(plan), ignore_index=True).equals(pd.read_csv(csv))


def test_no_trailing_newline_and_crlf(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_bytes(b"a,b\r\n1,2\r\n3,4\r\n\r\n5,6")
    plan = make_plan([str(csv)], settings_from_params(["mini_batch_size=4"]))
    assert plan.total_items == 3
    assert pd.concat(_frames(plan), ignore_index=True).equals(pd.read_csv(io.BytesIO(csv.read_bytes())))


def test_files_input_groups_files_in_sorted_order(tmp_path):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    for name in ("c.png", "a.png", "sub/b.png", "d.png"):
        (folder / name).write_bytes(b"x")
    plan = make_plan([str(folder)], settings_from_params(["mini_batch_size=3"]))
    assert plan.kind == "files"
    assert [[f.rsplit("imgs/", 1)[1] for f in b.files] for b in plan.batches] == [
        ["a.png", "c.png", "d.png"],
        ["sub/b.png"],
    ]


def test_file_uri_inputs(tmp_path):
    csv = write_csv(tmp_path / "a.csv", 3)
    assert make_plan([csv.as_uri()], settings_from_params([])).total_items == 3


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: [str(p / "missing.csv")], "does not exist or is not accessible"),
        (lambda p: [], "no input given"),
        (lambda p: [str((p / "empty").mkdir() or p / "empty")], "has no files"),
        (lambda p: [_touch(p / "e.csv")], "is empty; a CSV input needs a header row"),
        (lambda p: ["file://otherhost/x.csv"], "only file:// URIs of this machine"),
    ],
)
def test_bad_inputs_are_clear_errors(tmp_path, setup, message):
    with pytest.raises(BatchInputError, match=message):
        make_plan(setup(tmp_path), settings_from_params([]))


def test_header_only_file_has_no_batches_and_fingerprint_tracks_content(tmp_path):
    csv = tmp_path / "h.csv"
    csv.write_text("a,b\n")
    plan = make_plan([str(csv)], settings_from_params([]))
    assert plan.batches == ()
    before = plan.fingerprint()
    csv.write_text("a,b\n1,2\n")
    assert make_plan([str(csv)], settings_from_params([])).fingerprint() != before
