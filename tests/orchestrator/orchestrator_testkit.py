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


def fake_model_bytes(kind: str) -> bytes:
    # the cassettes' `-t sha256:...` tags are computed from exactly these bytes
    return f"fake {kind} model\n".encode()


def fake_artifacts(argv: tuple[str, ...], cwd: Path | None) -> None:
    """What `churn_model.train` / `churn_model.schema` would write, so replays have real files."""
    from orchestrator import paths

    home = str(paths.home())
    if "churn_model.train" in argv:
        out = Path(argv[argv.index("--outputs") + 1].replace("<MLOPS_HOME>", home))
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.pkl").write_bytes(fake_model_bytes(argv[argv.index("--model") + 1]))
    elif "churn_model.schema" in argv:
        target = Path(argv[argv.index("--output") + 1].replace("<MLOPS_HOME>", home))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text('{"input": {}}\n')
