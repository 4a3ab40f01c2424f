"""The parallel contract inside a worker: load the entry script, call ``init()`` and ``run(mini_batch)``, and
turn what ``run()`` returned into append_row lines.

Azure ML's rules: ``init()`` is optional and runs once per worker process; ``run(mini_batch)`` gets a pandas
DataFrame (tabular input) or a list of file paths (file input) and returns a DataFrame or a list/array, each
element counting as one successfully processed input item.  With ``append_row`` a DataFrame is written one row
per line, values separated by a space, no header and no index (as Azure ML writes ``parallel_run_step.txt``);
any other element is written with ``str()`` on its own line.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from mlops_engine.batch.errors import BatchInputError
from mlops_engine.batch.plan import MiniBatch

SHIM_DIR: Final = str(Path(__file__).resolve().parent / "shim")


def check_entry_script(path: str) -> Path:
    """Fail early, with the reason, on a missing, unreadable or syntactically broken script, or one without run()."""
    file = Path(path).expanduser().resolve()
    try:
        source = file.read_bytes()
    except FileNotFoundError:
        raise BatchInputError(f"entry script {file} does not exist") from None
    except IsADirectoryError:
        raise BatchInputError(f"entry script {file} is a folder; give the .py file") from None
    except OSError as exc:
        raise BatchInputError(f"entry script {file} cannot be read: {exc.strerror or exc}") from None
    try:
        tree = ast.parse(source, filename=str(file))
    except SyntaxError as exc:
        raise BatchInputError(f"entry script {file} line {exc.lineno}: {exc.msg}") from None
    names = _top_level_names(tree)
    if "run" not in names:
        raise BatchInputError(f"entry script {file} defines no run(mini_batch) function")
    return file


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def load_entry_module(script: str, source_dirs: tuple[str, ...], arguments: tuple[str, ...]) -> ModuleType:
    """Import the script under its own name, with its folder and the source folders first on sys.path."""
    file = Path(script)
    for folder in (SHIM_DIR, *reversed(source_dirs), str(file.parent)):
        if folder in sys.path:
            sys.path.remove(folder)
        if folder == SHIM_DIR:
            sys.path.append(folder)  # a real azureml_user package, if installed, wins
        else:
            sys.path.insert(0, folder)
    sys.argv = [str(file), *arguments]  # ParallelRunStep passes `arguments` on the command line
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise TypeError(f"entry script {file} defines no run(mini_batch) function")
    return module


def call_init(module: ModuleType) -> None:
    init: Callable[[], Any] | None = getattr(module, "init", None)
    if callable(init):
        init()


def read_mini_batch(batch: MiniBatch) -> tuple[Any, int]:
    """What run() receives, and how many input items it holds."""
    if batch.kind == "files":
        return list(batch.files), len(batch.files)
    import pandas as pd

    with open(batch.path, "rb") as fh:
        fh.seek(batch.start)
        data = fh.read(batch.end - batch.start)
    frame = pd.read_csv(io.BytesIO(data), header=None, names=list(batch.columns))
    return frame, len(frame)


def serialize(result: Any, append_row: bool, dataframe_header: bool) -> tuple[int, bytes, bytes]:
    """(elements returned, append_row bytes, header line) for one run() result."""
    if result is None:
        return 0, b"", b""
    if hasattr(result, "to_csv") and hasattr(result, "columns"):  # pandas.DataFrame, duck-typed
        count = len(result)
        if not append_row:
            return count, b"", b""
        text = result.to_csv(sep=" ", header=False, index=False, lineterminator="\n")
        header = (" ".join(str(c) for c in result.columns) + "\n").encode() if dataframe_header else b""
        return count, text.encode("utf-8"), header
    if isinstance(result, (str, bytes, bytearray, dict)):
        raise TypeError(f"run() must return a pandas DataFrame or a list/array, got {type(result).__name__}")
    items = result.tolist() if hasattr(result, "tolist") else list(result)
    if not append_row:
        return len(items), b"", b""
    return len(items), "".join(f"{item}\n" for item in items).encode("utf-8"), b""
