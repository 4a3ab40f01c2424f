from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_engine.batch import BatchInputError
from mlops_engine.batch.entry import check_entry_script, serialize

from .conftest import write_script


def test_dataframe_rows_are_space_separated_without_header_or_index_like_azure_ml():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "two words"]}, index=[7, 8])
    count, payload, header = serialize(frame, append_row=True, dataframe_header=False)
    assert (count, payload, header) == (2, b'1 x\n2 "two words"\n', b"")
    assert serialize(frame, True, True)[2] == b"a b\n"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (["a", 1, 2.5], (3, b"a\n1\n2.5\n")),
        (np.array([0, 1]), (2, b"0\n1\n")),
        (pd.Series(["y", "n"]), (2, b"y\nn\n")),
        ((), (0, b"")),
        (None, (0, b"")),
    ],
)
def test_list_like_results_one_element_per_line(result, expected):
    assert serialize(result, True, False)[:2] == expected


def test_summary_only_counts_but_writes_nothing():
    assert serialize([1, 2, 3], False, False) == (3, b"", b"")


@pytest.mark.parametrize("bad", ["text", b"bytes", {"a": 1}])
def test_scalars_and_mappings_are_refused(bad):
    with pytest.raises(TypeError, match="must return a pandas DataFrame or a list/array"):
        serialize(bad, True, False)


def test_entry_script_checks(tmp_path):
    with pytest.raises(BatchInputError, match="does not exist"):
        check_entry_script(str(tmp_path / "nope.py"))
    with pytest.raises(BatchInputError, match="is a folder"):
        check_entry_script(str(tmp_path))
    broken = write_script(tmp_path, "def run(x):\n    return [\n", "broken.py")
    with pytest.raises(BatchInputError, match=r"broken.py line \d+: "):
        check_entry_script(str(broken))
    norun = write_script(tmp_path, "def init():\n    pass\n", "norun.py")
    with pytest.raises(BatchInputError, match="defines no run"):
        check_entry_script(str(norun))
    imported = write_script(tmp_path, "from somewhere import run\n", "imported.py")
    assert check_entry_script(str(imported)) == imported
