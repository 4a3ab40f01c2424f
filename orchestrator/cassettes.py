"""Record and replay of az interactions (convention 15; modelled on vcrpy).

A cassette is versioned YAML: ``version: 1`` and an ordered list of interactions ``{argv, exit_code,
stdout, stderr, duration}``. `ReplayRunner` plays each interaction once, in order, matching argv
through named matchers; an unmatched command fails with the nearest recorded commands and the
matchers that failed. `RecordingRunner` wraps a real runner and writes a scrubbed cassette; it is
used only when asked for (`--record PATH` or MLOPS_RECORD=PATH; the default record mode is none).

Argv is stored in canonical form: the az prefix becomes ``az``, the Python executable ``python`` and
the state directory ``<MLOPS_HOME>``, so a cassette recorded against the local engine replays
against the genuine CLI's argv and vice versa.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from orchestrator import paths, yamlio
from orchestrator.errors import CommandFailed
from orchestrator.runner import DEFAULT_TIMEOUT_S, CommandResult, Runner, check_exit
from orchestrator.scrub import scrub_argv, scrub_recording

CASSETTE_VERSION: Final = 1
Argv = tuple[str, ...]
Matcher = Callable[[Argv, Argv], bool]


@dataclass(frozen=True)
class Interaction:
    argv: Argv
    exit_code: int
    stdout: str
    stderr: str
    duration: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "duration": self.duration,
        }


class CassetteError(AssertionError):
    """A cassette is malformed, exhausted, or does not match the commands run (a test failure)."""


def load(path: Path) -> tuple[Interaction, ...]:
    """Read and check a cassette file."""
    doc = yamlio.load(path)
    if not isinstance(doc, dict) or doc.get("version") != CASSETTE_VERSION:
        raise CassetteError(f"{path}: not a version {CASSETTE_VERSION} cassette")
    items = doc.get("interactions")
    if not isinstance(items, list):
        raise CassetteError(f"{path}: $.interactions must be a list")
    out: list[Interaction] = []
    for index, item in enumerate(items):
        try:
            out.append(
                Interaction(
                    argv=tuple(str(a) for a in item["argv"]),
                    exit_code=int(item["exit_code"]),
                    stdout=str(item.get("stdout") or ""),
                    stderr=str(item.get("stderr") or ""),
                    duration=float(item.get("duration") or 0.0),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CassetteError(f"{path}: $.interactions[{index}]: {exc!r}") from None
    return tuple(out)


def save(path: Path, interactions: Sequence[Interaction]) -> None:
    """Write a cassette atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yamlio.dump({"version": CASSETTE_VERSION, "interactions": [i.as_dict() for i in interactions]})
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def canonical(argv: Sequence[str], az_prefix: Sequence[str], python: str) -> Argv:
    """az prefix -> `az`, the Python executable -> `python`, $MLOPS_HOME -> `<MLOPS_HOME>`."""
    argv = tuple(argv)
    prefix = tuple(az_prefix)
    if prefix and argv[: len(prefix)] == prefix:
        argv = ("az", *argv[len(prefix) :])
    elif argv and argv[0] == python:
        argv = ("python", *argv[1:])
    home = str(paths.home())
    return tuple(a.replace(home, "<MLOPS_HOME>") for a in argv)


# --- matchers -----------------------------------------------------------------------------------

_PATH: Final = re.compile(r"(?:<MLOPS_HOME>|/)[^\s\"']*")


def _words(argv: Argv) -> Argv:
    out: list[str] = []
    for word in argv:
        if word.startswith("-"):
            break
        out.append(word)
    return tuple(out)


def _mask_paths(argv: Argv) -> Argv:
    return tuple(_PATH.sub("<PATH>", a) if (a.startswith(("/", "<MLOPS_HOME>"))) else a for a in argv)


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _flags_json(argv: Argv) -> Argv:
    """Arguments with JSON payloads (e.g. -d) normalized, so whitespace and key order do not matter."""
    return tuple(
        json.dumps(_json_or_text(a), sort_keys=True) if a[:1] in "{[" else a for a in _mask_paths(argv)
    )


MATCHERS: Final[Mapping[str, Matcher]] = {
    "program": lambda a, b: a[:1] == b[:1],
    "command": lambda a, b: _words(a) == _words(b),
    "args": lambda a, b: a == b,
    "args_ignoring_paths": lambda a, b: _mask_paths(a) == _mask_paths(b),
    "args_json": lambda a, b: _flags_json(a) == _flags_json(b),
}
DEFAULT_MATCHERS: Final = ("program", "command", "args_json")


class ReplayRunner:
    """A Runner that answers from a cassette, in order, each interaction once."""

    def __init__(
        self,
        interactions: Sequence[Interaction],
        *,
        az_prefix: Sequence[str] = ("az",),
        python: str = "python",
        matchers: Sequence[str] = DEFAULT_MATCHERS,
        on_play: Callable[[Argv, Path | None], None] | None = None,
        name: str = "cassette",
    ) -> None:
        unknown = [m for m in matchers if m not in MATCHERS]
        if unknown:
            raise CassetteError(f"unknown matchers {unknown}; known: {sorted(MATCHERS)}")
        self.interactions = tuple(interactions)
        self.az_prefix = tuple(az_prefix)
        self.python = python
        self.matchers = tuple(matchers)
        self.on_play = on_play
        self.name = name
        self.played: list[Argv] = []
        self.error: CassetteError | None = None

    @property
    def remaining(self) -> tuple[Interaction, ...]:
        return self.interactions[len(self.played) :]

    def _fail(self, message: str) -> CassetteError:
        self.error = CassetteError(message)
        return self.error

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ok_codes: Collection[int] = (0,),
        cwd: Path | None = None,
    ) -> CommandResult:
        canon = canonical(argv, self.az_prefix, self.python)
        if not self.remaining:
            raise self._fail(
                f"{self.name}: all {len(self.interactions)} interactions played; unexpected: {shlex.join(canon)}"
            )
        expected = self.remaining[0]
        failed = [m for m in self.matchers if not MATCHERS[m](canon, expected.argv)]
        if failed:
            recorded = [shlex.join(i.argv) for i in self.remaining]
            nearest = difflib.get_close_matches(shlex.join(canon), recorded, n=3, cutoff=0.0)
            raise self._fail(
                f"{self.name}: command #{len(self.played) + 1} does not match the recording\n"
                f"  ran:      {shlex.join(canon)}\n"
                f"  expected: {shlex.join(expected.argv)}\n"
                f"  failed matchers: {', '.join(failed)}\n"
                "  nearest recorded commands:\n" + "\n".join(f"    {n}" for n in nearest)
            )
        self.played.append(canon)
        if self.on_play is not None:
            self.on_play(canon, cwd)
        result = CommandResult(
            tuple(argv), expected.exit_code, expected.stdout, expected.stderr, expected.duration
        )
        return check_exit(result, ok_codes)

    def assert_all_played(self) -> None:
        if self.error is not None:
            raise self.error
        if self.remaining:
            left = "\n".join(f"    {shlex.join(i.argv)}" for i in self.remaining)
            raise CassetteError(f"{self.name}: {len(self.remaining)} interactions never played:\n{left}")


class RecordingRunner:
    """Wraps a real Runner and keeps every interaction (scrubbed) for `save()`."""

    def __init__(self, inner: Runner, *, az_prefix: Sequence[str], python: str) -> None:
        self.inner = inner
        self.az_prefix = tuple(az_prefix)
        self.python = python
        self.interactions: list[Interaction] = []

    def _keep(self, result: CommandResult) -> None:
        argv = scrub_argv(canonical(result.argv, self.az_prefix, self.python))
        self.interactions.append(
            Interaction(argv, result.exit_code, scrub_recording(result.stdout), scrub_recording(result.stderr),
                        round(result.duration_s, 3))
        )  # fmt: skip

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ok_codes: Collection[int] = (0,),
        cwd: Path | None = None,
    ) -> CommandResult:
        try:
            result = self.inner.run(argv, timeout=timeout, ok_codes=ok_codes, cwd=cwd)
        except CommandFailed as exc:
            self._keep(exc.result)
            raise
        self._keep(result)
        return result

    def save(self, path: Path) -> None:
        save(path, self.interactions)
