"""mlops orchestrator: recipes, steps and a journal driving an `az ml`-compatible CLI."""

from __future__ import annotations

__version__ = "0.1.0"
