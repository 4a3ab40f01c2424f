"""Where the orchestrator keeps its state (`$MLOPS_HOME`, default ~/.mlops, shared with the engine) and
where it finds what it ships (recipes and schemas inside the package, via importlib.resources).

Nothing here depends on the current directory or on a source checkout: an installed wheel works the same.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Final

from orchestrator.errors import MlopsError

ENV_VAR: Final = "MLOPS_HOME"
_PACKAGE: Final = "orchestrator"


def _default_home() -> Path:
    # Separate function so the test suite can make it raise (conventions 13 and 16).
    return Path.home() / ".mlops"


def home() -> Path:
    """The state directory: $MLOPS_HOME if set, else ~/.mlops."""
    value = os.environ.get(ENV_VAR)
    if value:
        return Path(value).expanduser().resolve()
    return _default_home()


def journal_db() -> Path:
    """The journal (SQLite)."""
    return home() / "journal.db"


def logs_dir() -> Path:
    """Crash logs (exit code 3) go here."""
    return home() / "logs"


def work_dir(*parts: str) -> Path:
    """Staging directories for training outputs, one per service and model name."""
    return home().joinpath("staging", *parts)


def _shipped(*parts: str) -> Path:
    found = files(_PACKAGE).joinpath("data", *parts)
    if not isinstance(found, Path):  # only a zip import would do this; pip always installs files
        raise MlopsError(f"mlops must be installed as files, not imported from an archive ({found})")
    return found


def recipes_dir() -> Path:
    """The bundled recipes (orchestrator/data/recipes)."""
    return _shipped("recipes")


def schema_file(name: str) -> Path:
    """A bundled JSON schema (orchestrator/data/schemas): recipe.schema.json, cassette.schema.json."""
    return _shipped("schemas", name)
