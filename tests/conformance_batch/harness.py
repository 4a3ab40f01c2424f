"""Replaying the genuine `az ml service ... batch` transcripts (legacy batch reference; 72 recordings copied
into transcripts/) against the engine, and comparing after normalising only what whoever answered generated:

* ids, times and hosts, as tests/conformance does (`normalize`), and the job names made of a time stamp;
* paths: the recording's working folder (`<WORK>`) is this test's, and its backing storage account
  (mlcrpstg28d64569d5b9, `wasbs://azureml@...` and `https://...blob.core.windows.net/azureml/...` in the
  commands) is that working folder too -- the engine reads and writes local paths;
* psql table padding, which follows the width of the (normalised) hosts and paths.

Everything else -- wording, columns, line order, exit codes, the stdout/stderr split -- must be identical.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.conformance.harness import Transcript, load, normalize

TRANSCRIPTS = Path(__file__).parent / "transcripts"
FIXTURES = Path(__file__).parent / "fixtures"
STORAGE = (
    "wasbs://azureml@mlcrpstg28d64569d5b9.blob.core.windows.net/",
    "https://mlcrpstg28d64569d5b9.blob.core.windows.net/azureml/",
)

# The recordings print the command without shell quotes; these are the argv that were run.
ARGV_OVERRIDES = {
    "20_create": [
        "service",
        "create",
        "batch",
        "-f",
        "food_driver.py",
        "-n",
        "foodinspect",
        "--in=--input-data:data/food_inspections2.csv",
        "--in=--trained-model:model",
        "--out=--output-data",
        "--param=--threshold:0.5",
        "--param=--max-rows",
        "-d",
        "utils.py",
        "-d",
        "featurizer.jar",
        "-d",
        "lookup.csv",
        "--title",
        "Food inspection scorer",
    ],
}


def all_transcripts() -> list[Transcript]:
    return [load(p) for p in sorted(TRANSCRIPTS.glob("*.txt"))]


def argv_of(t: Transcript, work: Path) -> list[str]:
    words = list(ARGV_OVERRIDES.get(t.name) or shlex.split(t.command))
    if words[:2] == ["az", "ml"]:
        words = words[2:]
    out = []
    for word in words:
        for remote in STORAGE:
            word = word.replace(remote, f"{work}/")
        out.append(word)
    return out


_TABLE = re.compile(r"^[+|].*$", re.MULTILINE)


def _table_line(match: re.Match[str]) -> str:
    return re.sub(r" {2,}", " ", re.sub(r"-{2,}", "-", match.group(0)))


def normalize_batch(text: str, work: Path | None = None) -> str:
    if work is not None:
        text = text.replace(str(work), "<WORK>")
    for remote in STORAGE:  # the recording's backing storage is the working folder here (see argv_of)
        text = text.replace(remote, "<WORK>/")
    text = normalize(text)
    text = re.sub(r"\b\d{14}\b", "<JOBTIME14>", text)  # the genuine default job name (B7)
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}_\d{6}(?:_\d+)?\b", "<JOBTIME>", text)  # the documented one
    return _TABLE.sub(_table_line, text)
