"""Test isolation and the replay harness for orchestrator tests (conventions 15 and 16).

Autouse: MLOPS_HOME points into tmp_path, the default state directory (~/.mlops) raises, and the real
`ShRunner` raises unless a test asks for the `allow_real_runner` fixture.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from orchestrator_testkit import CASSETTES, DefaultStateDirUsed, RealRunnerUsed, fake_artifacts

from orchestrator import cassettes, paths
from orchestrator import runner as runner_module
from orchestrator.cli import main
from orchestrator.output import Output
from orchestrator.session import Session


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "mlops-home"))
    for name in ("MLOPS_AZ", "MLOPS_RECORD"):
        monkeypatch.delenv(name, raising=False)

    def no_default_home() -> Path:
        raise DefaultStateDirUsed("the default state directory ~/.mlops was used in a test")

    monkeypatch.setattr(paths, "_default_home", no_default_home)
    if "allow_real_runner" not in request.fixturenames:

        def no_real_runner(self: object, argv: Sequence[str], **kwargs: object) -> None:
            raise RealRunnerUsed(f"real ShRunner used in a test: {list(argv)}")

        monkeypatch.setattr(runner_module.ShRunner, "run", no_real_runner)


@pytest.fixture
def allow_real_runner() -> None:
    """Opt in to running real commands with ShRunner."""


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str
    sleeps: list[float]
    replay: cassettes.ReplayRunner | None


@dataclass
class Harness:
    """Runs `main()` in-process against a cassette with fake time; asserts every interaction played."""

    tmp_path: Path
    sleeps: list[float] = field(default_factory=list)
    now: float = 0.0

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def run(
        self,
        argv: Sequence[str],
        cassette: str | None = None,
        *,
        interactions: Sequence[cassettes.Interaction] | None = None,
        on_play: Callable[[tuple[str, ...], Path | None], None] | None = None,
        check_all_played: bool = True,
    ) -> CliRun:
        self.sleeps = []
        replay = None
        if cassette is not None or interactions is not None:
            loaded = (
                interactions if interactions is not None else cassettes.load(CASSETTES / f"{cassette}.yaml")
            )

            def play(canon: tuple[str, ...], cwd: Path | None) -> None:
                fake_artifacts(canon, cwd)
                if on_play:
                    on_play(canon, cwd)

            replay = cassettes.ReplayRunner(
                loaded, az_prefix=("az",), python=sys.executable, on_play=play, name=cassette or "inline"
            )
        out, err = io.StringIO(), io.StringIO()
        session = Session(
            az_prefix=("az",),
            out=Output("text", out, err),
            sleep=self.sleep,
            clock=self.clock,
            jitter=False,
            runner_factory=(lambda: replay) if replay else runner_module.ShRunner,  # type: ignore[return-value]
        )
        code = main(list(argv), session=session)
        if replay is not None:
            if replay.error is not None:
                raise replay.error
            if check_all_played and code != 130:
                replay.assert_all_played()
        return CliRun(code, out.getvalue(), err.getvalue(), list(self.sleeps), replay)


@pytest.fixture
def cli(tmp_path: Path) -> Harness:
    return Harness(tmp_path)
