"""Reading the legacy CLI's `ERROR:` blocks and classifying them as transient or permanent.

Forms handled (legacy-az-ml.md section 4.3, transcripts 01, 42, 52, 53, 80, 83):
* pretty JSON: ``ERROR: {"Azure-cli-ml Version": ..., "Error": <str | dict>, "Response Code"?: ...}``
  (indent 4), possibly after urllib3 warning lines (transcript 53);
* Python repr: ``ERROR: {'Azure-cli-ml Version': ..., 'Error': MlCliError({... 'Response Content': b'{...}',
  'Response Code': 409})}`` and ``'Error': KeyError('x')``;
* argparse usage errors: ``ERROR: az ml model register: error: ...`` (exit code 2);
* anything else: the last non-empty stderr line.

Classification is a ranked table of (regex, category); the first match wins and is applied to the
``ERROR:`` block only (so urllib3 "Retrying ... NameResolutionError" warnings printed before a
deployment failure do not make it look transient).

Transient (retried by `retry.TRANSIENT_AZ` for read-only calls):
  * ``throttled``  - "Response Code"/statusCode 429, "Too Many Requests", "throttl..."
  * ``connection`` - "Error connecting to {url}.", "Unable to reach the requested host" / ``ehostunreach``,
                     "Connection aborted" / "Connection refused" / "Connection reset"
  * ``timeout``    - "Error, request to {url} timed out.", "Error, operation request to {url} timed out."
  * ``server``     - "Response Code"/"StatusCode"/statusCode 5xx, "502 Bad Gateway", "Service Unavailable",
                     "Gateway Timeout", "Internal Server Error"
Mutating calls are re-sent only for ``throttled`` and ``connection`` (the request never reached the
service); after a ``timeout`` or ``server`` error the write may have happened, so we stop and let the
re-run's existence checks find it.

Permanent (never retried):
  * ``operation_timeout`` - "Error, operation polling timed out": the CLI gave up polling after ~10 min,
                            but the build or deployment may still finish server-side (re-run later)
  * ``operation_failed``  - an async operation ended "State": "Failed" (image build, deployment)
  * ``auth``       - 401/403, Unauthorized, Forbidden, AuthorizationFailed, "az login", "logged in"
  * ``not_found``  - 404, NotFound, ResourceNotFound, "not found", "could not be found", "no such file"
  * ``conflict``   - 409, Conflict, "already exists"
  * ``quota``      - "quota"
  * ``usage``      - argparse errors (exit code 2)
  * ``validation`` - 400, BadRequest, "Invalid ...", "must be", "not supported", "required", "cannot be set"
  * ``error``      - everything else
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

TRANSIENT: Final = frozenset({"throttled", "connection", "timeout", "server"})
SAFE_TO_RESEND: Final = frozenset({"throttled", "connection"})

_I: Final = re.IGNORECASE
RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"operation polling timed out", _I), "operation_timeout"),
    (re.compile(r"""["']State["']\s*:\s*["'](?:Failed|Cancelled)["']"""), "operation_failed"),
    (
        re.compile(
            r"""["'](?:Response Code|StatusCode|statusCode)["']\s*:\s*["']?429\b|too many requests|throttl""",
            _I,
        ),
        "throttled",
    ),
    (
        re.compile(
            r"Error connecting to|Unable to reach the requested host|ehostunreach|Connection (?:aborted|refused|reset)",
            _I,
        ),
        "connection",
    ),
    (re.compile(r"timed out", _I), "timeout"),
    (
        re.compile(
            r"""["'](?:Response Code|StatusCode|statusCode)["']\s*:\s*["']?5\d\d\b"""
            r"|\b50[0234] (?:Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)"
            r"|Bad Gateway|Service Unavailable|Gateway Timeout|Internal Server Error",
            _I,
        ),
        "server",
    ),
    (
        re.compile(
            r"""["'](?:Response Code|StatusCode|statusCode)["']\s*:\s*["']?40[13]\b|Unauthorized|Forbidden"""
            r"|AuthorizationFailed|az login|logged in",
            _I,
        ),
        "auth",
    ),
    (
        re.compile(
            r"""["'](?:Response Code|StatusCode|statusCode)["']\s*:\s*["']?404\b|NotFound|not found|could not be found|no such file""",
            _I,
        ),
        "not_found",
    ),
    (
        re.compile(
            r"""["'](?:Response Code|StatusCode|statusCode)["']\s*:\s*["']?409\b|Conflict|already exists""",
            _I,
        ),
        "conflict",
    ),
    (re.compile(r"quota", _I), "quota"),
    (re.compile(r"^ERROR: az ml [a-z -]+: error:", re.MULTILINE), "usage"),
    (
        re.compile(
            r"""["'](?:Response Code|StatusCode|statusCode)["']\s*:\s*["']?400\b|BadRequest|Invalid|must be"""
            r"|not supported|required|cannot be set",
            _I,
        ),
        "validation",
    ),
)


def classify(text: str) -> str:
    """The category of an error text (see the module docstring); 'error' when nothing matches."""
    block = _error_block(text)
    for pattern, category in RULES:
        if pattern.search(block):
            return category
    return "error"


def is_transient_text(text: str) -> bool:
    """True when a failure of a read-only call is worth retrying."""
    return classify(text) in TRANSIENT


@dataclass(frozen=True)
class AzError:
    """One parsed `ERROR:` block."""

    message: str
    form: str  # "json" | "repr" | "usage" | "text"
    response_code: int | str | None = None
    details: tuple[str, ...] = ()


def _error_block(text: str) -> str:
    match = re.search(r"^ERROR: ", text, re.MULTILINE)
    return text[match.start() :] if match else text


def parse_az_error(stderr: str) -> AzError:
    """Parse the CLI's stderr into an `AzError` (never raises; unknown shapes become form='text')."""
    block = _error_block(stderr)
    if not block.startswith("ERROR: "):
        lines = [line for line in stderr.splitlines() if line.strip()]
        return AzError(lines[-1].strip() if lines else "(no error output)", "text")
    body = block[len("ERROR: ") :].strip()
    if body.startswith("az ml ") and ": error:" in body.splitlines()[0]:
        return AzError(body.splitlines()[0].strip(), "usage")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return _from_json(data)
    if body.startswith(("{'", '{"')):
        return _from_repr(body)
    return AzError(body.splitlines()[0].strip(), "text")


def _operation_details(content: Any) -> tuple[str, tuple[str, ...]]:
    """Message and detail lines of an MMS operation object (PascalCased)."""
    if not isinstance(content, dict):
        return "", ()
    err = content.get("Error") or content.get("error")
    if not isinstance(err, dict):
        return str(content.get("message") or content.get("Message") or ""), ()
    message = str(err.get("Message") or err.get("message") or "")
    details = tuple(
        f"{d.get('Code') or d.get('code')}: {d.get('Message') or d.get('message')}"
        for d in (err.get("Details") or err.get("details") or [])
        if isinstance(d, dict)
    )
    return message, details


def _from_json(data: dict[str, Any]) -> AzError:
    error = data.get("Error")
    code = data.get("Response Code")
    content = data.get("Response Content")
    if isinstance(error, dict):
        message = str(error.get("Error Message") or error.get("Message") or json.dumps(error, sort_keys=True))
        extra = [f"{k}: {v}" for k, v in error.items() if k != "Error Message"]
        return AzError(message, "json", code, tuple(extra))
    op_message, op_details = _operation_details(content)
    if error in (None, "Error occurred") and op_message:
        return AzError(op_message, "json", code, op_details)
    message = str(error) if error is not None else str(content or "unknown error")
    if isinstance(content, str) and content and content != message:
        return AzError(message, "json", code, (content,))
    return AzError(message, "json", code, op_details)


_REPR_ERROR: Final = re.compile(r"""'Error': '((?:\\.|[^'\\])*)'""")
_REPR_EXC: Final = re.compile(r"""'Error': ([A-Z][A-Za-z]*Error)\((.*?)\)\}?\s*$""", re.DOTALL)
_REPR_CODE: Final = re.compile(r"""'Response Code': '?(\d{3}|[A-Za-z]+)'?""")
_REPR_CONTENT: Final = re.compile(r"""'Response Content': b?'((?:\\.|[^'\\])*)'""")


def _from_repr(body: str) -> AzError:
    code_match = _REPR_CODE.search(body)
    code: int | str | None = None
    if code_match:
        raw = code_match.group(1)
        code = int(raw) if raw.isdigit() else raw
    message_match = _REPR_ERROR.search(body)
    content_match = _REPR_CONTENT.search(body)
    details: tuple[str, ...] = ()
    if content_match:
        content_text = content_match.group(1).encode().decode("unicode_escape", "replace")
        try:
            content = json.loads(content_text)
        except ValueError:
            content = None
        if isinstance(content, dict) and content.get("message"):
            details = (str(content["message"]),)
        elif content_text:
            details = (content_text,)
    if message_match and "MlCliError" in body:
        return AzError(message_match.group(1), "repr", code, details)
    exc_match = _REPR_EXC.search(body)
    if exc_match:
        return AzError(f"{exc_match.group(1)}({exc_match.group(2)})", "repr", code, details)
    if message_match:
        return AzError(message_match.group(1), "repr", code, details)
    return AzError(body.splitlines()[0], "repr", code, details)
