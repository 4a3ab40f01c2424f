"""docs/own-model.md, followed literally.

* Every ```` ```python ```` block whose first line is `# <file>.py` is saved as that file in `~/houseprice` (the
  guide says "save this as ..."); then the ```` ```bash ```` blocks run in order in one bash process, and the
  ```` ```text ```` block after one is its expected output, with the runner conventions and the matcher of the
  labs (tests/labs/test_labs.py): fresh HOME and MLOPS_HOME, this environment's `bin` first on PATH, no process
  left afterwards.
* The ```` ```json ```` schemas of the guide go through the replica's own schema code: their example request is
  converted into the types the guide says run() receives.
* The table "what run() returns -> the body" is checked against a real replica App, row by row.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.labs.test_labs import FENCE, _report, _script, _split, _stop_engine, check_output, parse_lab

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "own-model.md"
TIMEOUT = 600  # seconds for the whole guide: three services, three image builds, one update (under a minute when idle)


def _fences(path: Path) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    found: list[tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while lines[j].rstrip() != "```":
            j += 1
        found.append((m.group(1), "\n".join(lines[i + 1 : j])))
        i = j + 1
    return found


def _files(path: Path) -> dict[str, str]:
    files = {}
    for lang, body in _fences(path):
        named = re.fullmatch(r"# (\w+\.py)", body.splitlines()[0]) if lang == "python" else None
        if named:
            files[named.group(1)] = body + "\n"
    return files


def test_guide_runs_as_printed(tmp_path: Path) -> None:
    files = _files(GUIDE)
    assert set(files) == {"train.py", "score.py", "make_schema.py", "score_raw.py", "score_records.py"}, set(files)
    blocks = parse_lab(GUIDE)
    root, home = tmp_path / "repo", tmp_path / "home"
    root.mkdir()
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent, target_is_directory=True)
    work = home / "houseprice"
    work.mkdir(parents=True)
    for name, text in files.items():
        (work / name).write_text(text, encoding="utf-8")
    mlops_home = home / ".mlops"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "VIRTUAL_ENV", "AZURE_"))}
    env.update(HOME=str(home), MLOPS_HOME=str(mlops_home), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
               LC_ALL="C.UTF-8", COLUMNS="200")
    proc = subprocess.Popen(["bash", "-c", _script(blocks)], cwd=root, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        raw, _ = proc.communicate(timeout=TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw, _ = proc.communicate()
        timed_out = True
    left = _stop_engine(env, mlops_home)
    output = raw.decode("utf-8", "replace")
    chunks, unfinished = _split(output)
    print(f"{GUIDE.name}: {len(blocks)} blocks in {time.monotonic() - started:.1f} s")
    if timed_out or proc.returncode != 0:
        why = f"timed out after {TIMEOUT} s" if timed_out else f"bash exited with status {proc.returncode}"
        failing = next((b for b in blocks if b.index == unfinished), None)
        if failing is None:
            pytest.fail(f"{GUIDE.name}: {why} outside any block\n{output[-4000:]}")
        pytest.fail(_report(GUIDE, failing, f"{why} while running this block", chunks.get(failing.index, ""),
                            failing.expected))
    problems = [_report(GUIDE, b, reason, chunks.get(b.index, ""), b.expected) for b in blocks
                if b.expected is not None and (reason := check_output(b.expected, chunks.get(b.index, "")))]
    if problems:
        pytest.fail("\n\n".join(problems))
    assert not left, f"processes left running after 'daemon stop' (killed): {left}"


def test_guide_schemas_give_run_the_documented_types(tmp_path: Path) -> None:
    from mlops_engine.serving.replica.schema import InputConverter, InputError, load_schema

    documented = {"features": np.ndarray, "text": str, "top": int}  # section 6: NUMPY and STANDARD examples
    converted: dict[str, Any] = {}
    for n, (lang, body) in enumerate(_fences(GUIDE)):
        if lang != "json":
            continue
        doc = json.loads(body)
        inputs = doc["input"]
        if not all("example" in spec["swagger"] for spec in inputs.values()):
            continue  # the layout template
        path = tmp_path / f"schema{n}.json"
        path.write_text(body)
        converter = InputConverter(load_schema(path), records=False)
        converted.update(converter.convert(json.dumps({k: v["swagger"]["example"] for k, v in inputs.items()})
                                           .encode()))
    assert {name: type(value) for name, value in converted.items()} == documented
    assert converted["features"].dtype == np.float64 and converted["features"].shape == (1, 4)
    assert (converted["text"], converted["top"]) == ("a quiet flat near the river", 3)
    numpy_schema = next(body for lang, body in _fences(GUIDE) if lang == "json" and '"features"' in body)
    (tmp_path / "numpy.json").write_text(numpy_schema)
    with pytest.raises(InputError, match="dimensions after the first"):  # rows of 4 values, as the guide says
        InputConverter(load_schema(tmp_path / "numpy.json"), records=False).convert(b'{"features": [[1.0, 2.0]]}')


def _return_table() -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split("| `run()` returns | the body is |\n| --- | --- |\n", 1)[1].split("\n\n", 1)[0]
    rows = [re.fullmatch(r"\| `(.+)` \| (.+) \|", line) for line in table.splitlines()]
    assert all(rows), table
    return [(m.group(1), m.group(2)) for m in rows if m]


def test_guide_return_table_matches_the_replica() -> None:
    from mlops_engine.serving.replica.app import App

    rows = _return_table()
    assert len(rows) == 10
    for code, body in rows:
        value = eval(code, {"json": json, "np": np, "pd": pd})  # the guide's own literals
        app = App(lambda _raw, v=value: v, None, False, "guide", "local")
        result = app.handle(b"POST", b"/score", None, b"{}")
        if body.startswith("HTTP 500"):
            message = re.fullmatch(r"HTTP 500: `(.+)\.\.\.`", body)
            assert message and result.status == 500, (code, result.status, result.body)
            assert json.loads(result.body)["message"].startswith(message.group(1)), (code, result.body)
        else:
            assert (result.status, result.body.decode()) == (200, body.strip("`")), (code, result.body)
