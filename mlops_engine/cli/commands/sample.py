"""The `-d` sample shown in `Usage:` lines and `service usage` (legacy reference 8.4).

The legacy CLI printed `'"' + str(example).replace("'", '\\"') + '"'`. That string is kept whenever it
is correct when pasted into bash; when it is not (backslashes such as the churn lab's "\\N", `$`,
booleans printed as True/False, ...) we print the JSON in single quotes instead, so the printed
command always works (the lab's "\\N" had to be re-escaped by hand with the legacy CLI).
"""

from __future__ import annotations

import json
from typing import Any

NO_SAMPLE = "!! YOUR DATA HERE !!"


def _bash_double_quoted(text: str) -> str | None:
    """What bash makes of a "..." word (None when expansion characters make it unpredictable)."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    inner, out, i = text[1:-1], [], 0
    while i < len(inner):
        ch = inner[i]
        if ch in "$`!":
            return None
        if ch == "\\" and i + 1 < len(inner) and inner[i + 1] in '"\\$`':
            out.append(inner[i + 1])
            i += 2
            continue
        if ch == '"':
            return None
        out.append(ch)
        i += 1
    return "".join(out)


def sample_argument(example: Any) -> str:
    """The shell-ready -d value for an example input, or the legacy placeholder."""
    if example is None:
        return NO_SAMPLE
    legacy = '"' + str(example).replace("'", '\\"') + '"'
    unquoted = _bash_double_quoted(legacy)
    try:
        if unquoted is not None and json.loads(unquoted) == example:
            return legacy
    except ValueError:
        pass
    return "'" + json.dumps(example).replace("'", "'\\''") + "'"


def example_from_swagger(swagger: Any) -> Any:
    try:
        return swagger["definitions"]["ServiceInput"]["example"]
    except (KeyError, TypeError):
        return None
