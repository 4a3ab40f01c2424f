"""Removing secrets from text before it is logged, journaled or written to a cassette.

`scrub_secrets` runs on everything the runner logs and the journal stores; `scrub_recording` adds
identity scrubbing (subscription ids, e-mail addresses) for cassettes (convention 15).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

REDACTED: Final = "REDACTED"
FAKE_SUBSCRIPTION: Final = "00000000-0000-0000-0000-000000000000"

_SECRET_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # `az ml service keys realtime` text lines
    (
        re.compile(r"^((?:\[Local mode\] )?(?:PrimaryKey|SecondaryKey):[ \t]*)\S+", re.MULTILINE),
        rf"\g<1>{REDACTED}",
    ),
    # JSON and Python-repr forms of keys and passwords
    (
        re.compile(
            r"""(["'](?:primaryKey|secondaryKey|PrimaryKey|SecondaryKey|password2?|Password2?|"""
            r"""client_secret|secret|instrumentationKey|acsKubeConfig)["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2"""
        ),
        rf"\g<1>\g<2>{REDACTED}\g<2>",
    ),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"([?&]sig=)[^&\s\"']+"), rf"\g<1>{REDACTED}"),
)

_IDENTITY_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"(/subscriptions/)[0-9a-fA-F-]{36}"), rf"\g<1>{FAKE_SUBSCRIPTION}"),
    (
        re.compile(r"""(["'](?:subscription|Subscription|Subscription ID)["']\s*:\s*["'])[0-9a-fA-F-]{36}"""),
        rf"\g<1>{FAKE_SUBSCRIPTION}",
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "user@example.com"),
)

# Flags whose value is a secret (az env setup -p, generic --password).
_SECRET_FLAGS: Final = frozenset({"-p", "--service-principal-password", "--password", "--key", "--secret"})
_SECRET_FLAG_COMMANDS: Final = frozenset({"setup", "login"})


def scrub_secrets(text: str) -> str:
    """Replace keys, passwords, tokens and SAS signatures with REDACTED."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_recording(text: str) -> str:
    """`scrub_secrets` plus subscription ids and e-mail addresses (for cassettes)."""
    text = scrub_secrets(text)
    for pattern, replacement in _IDENTITY_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """Hide the values of secret-bearing flags (`-p` only where it means a password)."""
    out: list[str] = []
    hide_next = False
    secret_context = any(word in _SECRET_FLAG_COMMANDS for word in argv)
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg in _SECRET_FLAGS and (arg != "-p" or secret_context):
            hide_next = True
        out.append(scrub_secrets(arg))
    return tuple(out)
