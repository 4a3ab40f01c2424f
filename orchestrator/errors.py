"""The error hierarchy: `MlopsError` is the only user-facing base (conventions 6 and 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.runner import CommandResult

_MAX_SHOWN = 750  # like sh: enough to see the error, never a wall of text


def _indent(text: str, limit: int = _MAX_SHOWN) -> str:
    text = text.strip("\n")
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return "\n".join("    " + line for line in text.splitlines()) or "    (empty)"


class MlopsError(Exception):
    """An error the user can act on; printed as one short message, exit code 1."""


class RecipeError(MlopsError):
    """A recipe file is missing, is not valid YAML or does not match the schema."""


class CommandFailed(MlopsError):
    """An external command exited with an unexpected code; carries its `CommandResult`."""

    def __init__(self, result: CommandResult, message: str | None = None, category: str = "error") -> None:
        self.result = result
        self.message = message
        self.category = category
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"command failed (exit code {self.result.exit_code}): {self.result.display()}"
        if self.message:
            head += f"\n  {self.message}"
        parts = [head]
        if self.result.stdout.strip():
            parts.append("  stdout:\n" + _indent(self.result.stdout))
        if self.result.stderr.strip():
            parts.append("  stderr:\n" + _indent(self.result.stderr))
        return "\n".join(parts)


class UnexpectedOutputError(MlopsError):
    """A command succeeded but printed something its parser does not understand."""

    def __init__(self, command: str, reason: str, output: str = "") -> None:
        self.command = command
        self.reason = reason
        self.output = output
        text = f"unexpected output from `{command}`: {reason}"
        if output.strip():
            text += "\n  output:\n" + _indent(output, 300)
        text += "\n  The az CLI may be a different version than the one this tool was written for."
        super().__init__(text)


class ProvisioningFailed(MlopsError):
    """A resource reached a terminal failure state (carries the resource's errors)."""

    def __init__(self, what: str, state: str, errors: tuple[str, ...] = ()) -> None:
        self.what = what
        self.state = state
        self.errors = errors
        text = f"{what} ended in state {state}"
        if errors:
            text += ": " + "; ".join(errors)
        super().__init__(text)


class ProvisioningTimeout(MlopsError):
    """A resource did not reach a terminal state before the deadline (carries the last state)."""

    def __init__(self, what: str, last_state: str | None, timeout_s: float) -> None:
        self.what = what
        self.last_state = last_state
        self.timeout_s = timeout_s
        super().__init__(
            f"{what} did not finish within {timeout_s:g}s (last state seen: {last_state or 'none'}); "
            "it may still finish: re-run the same command later, it resumes where it stopped"
        )


class BackendError(MlopsError):
    """The az executable could not be started, or timed out."""


class RollbackError(MlopsError):
    """A rollback was impossible or failed; the service may be on an unexpected image."""


class SmokeTestFailed(MlopsError):
    """The deployed service did not answer the sample request as expected."""

    def __init__(self, service_id: str, expected: str, got: str, detail: Any = None) -> None:
        self.service_id = service_id
        self.expected = expected
        self.got = got
        self.detail = detail
        super().__init__(f"smoke test of {service_id} failed: expected {expected!r}, got {got!r}")
