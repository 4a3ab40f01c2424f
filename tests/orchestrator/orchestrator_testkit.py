"""Helpers the orchestrator tests import (kept out of conftest.py: several test folders have one)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent  # the source checkout (mlops.py, pyproject.toml); the code itself never needs it
CASSETTES = TESTS / "cassettes"
AZ_DATA = TESTS / "data" / "az"


class RealRunnerUsed(AssertionError):
    """A test tried to run a real external command without opting in (use `allow_real_runner`)."""


class DefaultStateDirUsed(AssertionError):
    """Code reached ~/.mlops instead of $MLOPS_HOME."""


def az_sample(command: str, case: str) -> str:
    """A single-output sample from tests/data/az/<command>/<case>.*"""
    matches = [AZ_DATA / command / case] if "." in case else sorted((AZ_DATA / command).glob(f"{case}.*"))
    assert matches, f"no sample {command}/{case}"
    return matches[0].read_text(encoding="utf-8")
