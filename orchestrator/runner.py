"""The one boundary for external commands: the only module that imports `sh` (convention 3).

`Runner` is the seam; `ShRunner` is the real implementation. Replay and recording runners for tests
and record mode live in `orchestrator.cassettes` and satisfy the same Protocol.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import sh

from orchestrator.errors import BackendError, CommandFailed
from orchestrator.scrub import scrub_argv, scrub_secrets

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 30 * 60.0
_KEPT_ENV: Final = frozenset({"PATH", "HOME", "MLOPS_HOME", "AZURE_CONFIG_DIR", "LANG", "LC_ALL", "TMPDIR"})
_KEPT_PREFIXES: Final = ("PYTHON", "MLOPS_")


@dataclass(frozen=True)
class CommandResult:
    """What one external command did."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def display(self) -> str:
        """The argv as a shell-quoted line, secrets scrubbed."""
        return shlex.join(scrub_argv(self.argv))


class Runner(Protocol):
    """Runs one external command and returns its `CommandResult`."""

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ok_codes: Collection[int] = (0,),
        cwd: Path | None = None,
    ) -> CommandResult:
        """Run argv and return its result; an exit code outside ok_codes raises `CommandFailed`."""
        ...


def clean_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An explicit environment: PATH, HOME, MLOPS_HOME, AZURE_CONFIG_DIR, LANG, PYTHON*, MLOPS_*.

    Nothing is added to PYTHONPATH: `python -m mlops_engine` and `python -m churn_model.train` run with the
    orchestrator's own interpreter, which imports them from wherever mlops is installed (editable or not).
    """
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k in _KEPT_ENV or k.startswith(_KEPT_PREFIXES)}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def check_exit(result: CommandResult, ok_codes: Collection[int]) -> CommandResult:
    """Raise `CommandFailed` unless the exit code is expected (shared by every Runner)."""
    if result.exit_code not in ok_codes:
        raise CommandFailed(result)
    return result


def log_result(result: CommandResult) -> None:
    """Log a finished command: exit code at INFO, full output at DEBUG (scrubbed)."""
    log.info("exit %d after %.2fs: %s", result.exit_code, result.duration_s, result.display())
    if result.stdout:
        log.debug("stdout:\n%s", scrub_secrets(result.stdout))
    if result.stderr:
        log.debug("stderr:\n%s", scrub_secrets(result.stderr))


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


class ShRunner:
    """Runs commands with `sh`: no TTY, cleaned environment, timeouts, no sh exceptions leaking."""

    def __init__(
        self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._env = clean_env(env)
        self._clock = clock

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ok_codes: Collection[int] = (0,),
        cwd: Path | None = None,
    ) -> CommandResult:
        argv = tuple(argv)
        log.info("run: %s%s", shlex.join(scrub_argv(argv)), f"  (in {cwd})" if cwd else "")
        start = self._clock()
        try:
            command = sh.Command(argv[0])
            proc = command(
                *argv[1:],
                _tty_out=False,
                _env=self._env,
                _cwd=str(cwd) if cwd else None,
                _timeout=timeout,
                _ok_code=list(ok_codes),
                _return_cmd=True,
            )
            exit_code = int(proc.exit_code or 0)
            stdout = _text(proc.stdout)
            stderr = _text(proc.stderr)
        except sh.CommandNotFound as exc:
            raise BackendError(
                f"cannot run {argv[0]!r}: command not found ({exc}). "
                "Check --az / MLOPS_AZ, or install the local engine (pip install -e .)."
            ) from None
        except sh.TimeoutException:
            raise BackendError(
                f"`{shlex.join(scrub_argv(argv))}` did not finish within {timeout:g}s"
            ) from None
        except sh.SignalException:
            raise BackendError(f"`{shlex.join(scrub_argv(argv))}` was killed by a signal") from None
        except sh.ErrorReturnCode as exc:
            failed = CommandResult(
                argv,
                int(exc.exit_code),
                _text(exc.stdout),
                _text(exc.stderr),
                round(self._clock() - start, 3),
            )
            log_result(failed)
            raise CommandFailed(failed) from None
        except PermissionError as exc:
            raise BackendError(f"cannot execute {argv[0]!r}: {exc}") from None
        result = CommandResult(argv, exit_code, stdout, stderr, round(self._clock() - start, 3))
        log_result(result)
        return result
