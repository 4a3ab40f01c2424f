"""Where the orchestrator keeps its state: `$MLOPS_HOME` (default ~/.mlops), shared with the engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

ENV_VAR: Final = "MLOPS_HOME"
PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent


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


def recipes_dir() -> Path:
    """Bundled recipes."""
    return PROJECT_ROOT / "recipes"


def recipe_schema() -> Path:
    """The recipe JSON schema."""
    return PROJECT_ROOT / "schemas" / "recipe.schema.json"
