"""Rendering of command results: `-o json|jsonc|table|tsv`, `--query` (legacy reference 4.1).

JSON is `indent=2, sort_keys=True`; tables are tabulate's "simple" style (what azure-cli-core used);
`--query` (JMESPath) applies to the transformed result and disables the command's table transformer.
jmespath, tabulate and pygments are imported only when needed: this module is on every command's path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlops_engine.cli.errors import TableUnavailable

TableTransformer = Callable[[Any], list[dict[str, Any]]]


def _tsv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def _tsv(result: Any) -> str:
    rows = result if isinstance(result, list) else [result]
    lines = []
    for row in rows:
        if isinstance(row, dict):
            lines.append("\t".join(_tsv_value(row[k]) for k in sorted(row)))
        elif isinstance(row, list):
            lines.append("\t".join(_tsv_value(v) for v in row))
        else:
            lines.append(_tsv_value(row))
    return "\n".join(lines) + "\n" if lines else ""


def _table(result: Any, transformer: TableTransformer | None) -> str:
    from tabulate import tabulate

    if transformer is not None:
        try:
            rows = transformer(result)
        except Exception as exc:  # the legacy core printed a generic message for any failure
            raise TableUnavailable() from exc
    else:
        items = result if isinstance(result, list) else [result]
        if not all(isinstance(i, dict) for i in items):
            rows = [{"Result": i} for i in items]
        else:
            keys = sorted({k for i in items for k in i})
            rows = [{k: i.get(k, "") for k in keys} for i in items]
    if not rows:
        return ""
    return tabulate(rows, headers="keys", tablefmt="simple") + "\n"


def render(
    result: Any,
    output: str,
    query: str | None,
    table_transformer: TableTransformer | None = None,
) -> str:
    """Text to print for a command's (already transformed) result; '' for None."""
    if result is None:
        return ""
    if query:
        import jmespath

        result = jmespath.search(query, result)
        table_transformer = None
        if result is None:
            return ""
    if output == "table":
        return _table(result, table_transformer)
    if output == "tsv":
        return _tsv(result)
    text = json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False)
    if output == "jsonc":
        from pygments import formatters, highlight, lexers

        return highlight(text, lexers.JsonLexer(), formatters.TerminalFormatter())
    return text + "\n"
