"""Rendering of command results: `-o json|jsonc|table|tsv` and `--query`, with knack's output machinery.

azure-cli-core's output code (azure/cli/core/_output.py and _query.py in 2.0.22, the core the legacy
azure-cli-ml ran on) became knack's `knack/output.py` and `knack/query.py`. TSV is knack's `_TsvOutput`
unchanged; tables are knack's `_TableOutput` and `--query` is knack's `CLIQuery.jmespath_type` with
`Options(OrderedDict)`. Where knack has since changed a rule, the 2017 rule is restored here, each
difference named with its 2.0.22 source (also listed in docs/compatibility.md, "Output machinery"):

1. JSON escapes non-ASCII characters: 2.0.22 `format_json` called `json.dumps` without `ensure_ascii`
   (default True); knack passes `ensure_ascii=False`.
2. Automatic tables leave out every falsy value: 2.0.22 `TableOutput._auto_table_item` kept a value
   `if item[k] and not isinstance(item[k], (list, dict, set))`; knack keeps falsy values other than None.
3. Table cells that look like numbers are parsed as numbers (right-aligned, `"0.50"` shown `0.5`):
   2.0.22 `TableOutput.dump` called tabulate without `disable_numparse`; knack disables it.
4. A cell with a newline is not split over lines: 2.0.22 pinned tabulate 0.7.7, which had no multiline
   cells; we pass tabulate the "simple" TableFormat itself, which skips today's multiline handling.
5. An invalid `--query` is reported as `invalid query value`: 2.0.22 `_query.py` renamed its argparse
   type function to `query`; knack's is named `jmespath_type`.
6. Output the terminal cannot encode loses those characters silently: 2.0.22 `OutputProducer.out`;
   knack also logs a warning.
7. `-o jsonc` is coloured even when stdout is not a terminal: 2.0.22 `format_json_color` had no check;
   knack falls back to plain JSON unless `cli_ctx.enable_color`.

knack, tabulate, jmespath and pygments are imported only by the formats that need them: this module is
on every command's path, and `az ml ... -o json` (the default) needs none of them.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from typing import IO, Any

from mlops_engine.cli.errors import TableUnavailable

TableTransformer = Callable[[Any], Any]
# The genuine `--output` choices, in azure-cli-core 2.0.22's order (it shows in argparse usage lines).
OUTPUT_FORMATS = ("json", "tsv", "table", "jsonc")


def query_type(raw: str) -> Any:
    """argparse type of `--query`: the compiled JMESPath expression (knack `CLIQuery.jmespath_type`)."""
    from knack.query import CLIQuery

    return CLIQuery.jmespath_type(raw)


query_type.__name__ = "query"  # difference 5: argparse names the type in "invalid query value: ..."


def _bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):  # knack `_ComplexEncoder` (2.0.22 `ComplexEncoder`)
        return value.decode()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json(result: Any) -> str:
    """knack `format_json`, except difference 1: `ensure_ascii` left at its default, as in 2.0.22."""
    return json.dumps(result, indent=2, sort_keys=True, default=_bytes, separators=(",", ": ")) + "\n"


def _table(result: Any, transformer: TableTransformer | None, query_active: bool) -> str:
    import tabulate
    from knack.output import _TableOutput

    class _Table2017(_TableOutput):  # type: ignore[misc]
        def _auto_table_item(self, item: Any) -> Any:
            if isinstance(item, dict):  # difference 2: every falsy value is left out
                item = type(item)((k, v) for k, v in item.items() if v)
            return super()._auto_table_item(item)

        def dump(self, data: Any) -> str:
            table_data = self._auto_table(data)
            # differences 3 and 4: number parsing on; the "simple" format object, not its name
            simple = getattr(tabulate, "_table_formats", {}).get("simple", "simple")
            table_str = tabulate.tabulate(table_data, headers="keys", tablefmt=simple) if table_data else ""
            if table_str == "\n":
                raise ValueError("Unable to extract fields for table.")
            return table_str + "\n"

    # knack `format_table`: the transformer only without a query; keys sorted only without either
    try:
        if transformer is not None and not query_active:
            result = transformer(result)
        rows = result if isinstance(result, list) else [result]
        return str(_Table2017(not query_active and transformer is None).dump(rows))
    except Exception as exc:  # the legacy core printed one generic message for any failure
        raise TableUnavailable() from exc


def render(result: Any, output: str, query: Any = None, table_transformer: TableTransformer | None = None) -> str:
    """Text to print for a command's (already transformed) result; '' when there is nothing to print.

    `query` is a compiled expression from `query_type` (or None). As in azure-cli-core 2.0.22
    (`Application.execute`, `main`): the query applies to the transformed result with ordered dicts
    and disables the table transformer; a result (or query result) of None prints nothing.
    """
    if result is None:
        return ""
    query_active = query is not None
    if query_active:
        from collections import OrderedDict

        from jmespath import Options

        result = query.search(result, Options(dict_cls=OrderedDict))
        if result is None:
            return ""
    if output == "table":
        return _table(result, table_transformer, query_active)
    if output == "tsv":
        from knack.output import format_tsv
        from knack.util import CommandResultItem

        return str(format_tsv(CommandResultItem(result, is_query_active=query_active)))
    text = _json(result)
    if output == "jsonc":  # always coloured: 2.0.22 had no terminal check (knack asks cli_ctx.enable_color)
        from pygments import formatters, highlight, lexers

        return str(highlight(text, lexers.JsonLexer(), formatters.TerminalFormatter()))
    return text


def write(text: str, stream: IO[str]) -> None:
    """Print rendered output as 2.0.22 `OutputProducer.out` did: a closed pipe is not an error, and
    characters the stream cannot encode are dropped (difference 6: silently)."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        pass
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
    except UnicodeEncodeError:
        stream.write(text.encode("ascii", "ignore").decode("utf-8", "ignore"))
        stream.flush()
