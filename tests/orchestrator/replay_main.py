"""Runs `orchestrator.cli.main` in a child process against a cassette, with the process's real stdout.

For the closed-pipe tests: `python replay_main.py CASSETTE [--gate FILE] -- ARGS...`. With --gate, the
second recorded command waits (at most 30 s) until FILE exists, so the parent can read the first output
line and close the pipe before anything else is written. Exit code: main's, or 97 when the cassette was
not played to the end (the work stopped early).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from orchestrator_testkit import CASSETTES, fake_artifacts

from orchestrator import cassettes
from orchestrator.cli import main
from orchestrator.session import Session

NOT_ALL_PLAYED = 97


def run(argv: list[str]) -> int:
    split = argv.index("--")
    options, args = argv[:split], argv[split + 1 :]
    cassette = options[0]
    gate = Path(options[options.index("--gate") + 1]) if "--gate" in options else None

    def on_play(canon: tuple[str, ...], cwd: Path | None) -> None:
        fake_artifacts(canon, cwd)
        if gate is not None and len(replay.played) == 2:
            deadline = time.monotonic() + 30
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    replay = cassettes.ReplayRunner(
        cassettes.load(CASSETTES / f"{cassette}.yaml"), az_prefix=("az",), python=sys.executable,
        on_play=on_play, name=cassette,
    )  # fmt: skip
    session = Session(az_prefix=("az",), sleep=lambda s: None, jitter=False, runner_factory=lambda: replay)
    code = main(args, session=session)
    if replay.error is not None or replay.remaining:
        print(
            f"replay_main: {replay.error or f'{len(replay.remaining)} interactions not played'}",
            file=sys.stderr,
        )
        return NOT_ALL_PLAYED
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
