"""The batch package's user-facing errors: each message says what was wrong and what to do."""

from __future__ import annotations


class BatchError(Exception):
    """Base of every error the batch package raises on purpose (anything else is a bug)."""


class BatchConfigError(BatchError):
    """A parallel-run setting or a legacy driver parameter is missing, unknown or malformed."""


class BatchInputError(BatchError):
    """An input file, entry script, driver or dependency cannot be used."""


class BatchStateError(BatchError):
    """A job was asked to do something its state does not allow (start twice, resume a finished job...)."""
