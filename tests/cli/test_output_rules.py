"""The output machinery's rules, one test per rule, on synthetic data (independent of the transcripts).

Sources: azure-cli-core 2.0.22 (what azure-cli-ml 0.1.0a27.post3 ran on): `azure/cli/core/_output.py`
(`format_json`, `format_table`, `format_tsv`, `TableOutput`, `TsvOutput`, `OutputProducer.out`),
`azure/cli/core/_query.py` (`jmespath_type`, `handle_query_parameter`), `azure/cli/core/application.py`
(`Application.execute`, `_register_builtin_arguments`), `azure/cli/main.py` (`main`); and knack
(`knack/output.py`, `knack/query.py`), which that code became. Where the two differ the test says so.
"""

from __future__ import annotations

import io
import json
from collections import OrderedDict

import pytest

from mlops_engine.cli.commands.table import COMMANDS
from mlops_engine.cli.errors import TableUnavailable, UsageError
from mlops_engine.cli.main import _build_parser
from mlops_engine.cli.output import query_type, render, write

MANIFEST = {"Name": "m", "Id": "a-b", "Version": 2, "ModelIds": ["x", "y", "z"], "TargetRuntime": {"Type": "P"},
            "Description": " ", "Empty": []}


def q(expression: str):
    return query_type(expression)


# ---- JSON (_output.py format_json; knack format_json) -------------------------------------------------

def test_json_sorts_keys_at_every_level_with_two_space_indent() -> None:
    """format_json: json.dumps(indent=2, sort_keys=True, separators=(',', ': ')) + newline."""
    out = render({"b": 1, "a": {"d": [1, {"z": 0, "y": None}], "c": True}}, "json")
    assert out == ('{\n  "a": {\n    "c": true,\n    "d": [\n      1,\n      {\n        "y": null,\n'
                   '        "z": 0\n      }\n    ]\n  },\n  "b": 1\n}\n')


def test_json_escapes_non_ascii() -> None:
    """2.0.22 format_json left ensure_ascii at True (knack passes ensure_ascii=False): é is \\u00e9."""
    assert render({"name": "café 日本"}, "json") == '{\n  "name": "caf\\u00e9 \\u65e5\\u672c"\n}\n'


def test_json_of_a_query_is_still_sorted() -> None:
    """format_json sorts keys whatever the query asked: the OrderedDict order shows only in tsv/table."""
    out = render({"Name": "n", "Version": 1}, "json", q("{v: Version, n: Name}"))
    assert list(json.loads(out)) == ["n", "v"] and out.index('"n"') < out.index('"v"')


def test_jsonc_is_coloured_even_when_not_a_terminal() -> None:
    """format_json_color: pygments JsonLexer + TerminalFormatter, with no terminal check in 2.0.22
    (knack drops colour when cli_ctx.enable_color is off)."""
    out = render({"a": 1}, "jsonc")
    assert "\x1b[" in out and json.loads(__import__("re").sub(r"\x1b\[[0-9;]*m", "", out)) == {"a": 1}


# ---- TSV (_output.py TsvOutput; knack _TsvOutput, unchanged) -------------------------------------------

def test_tsv_prints_a_lists_length() -> None:
    """TsvOutput._dump_obj: a list value is written as str(len(list))."""
    assert render(MANIFEST, "tsv").split("\t")[3] == "3"


def test_tsv_nested_object_is_an_empty_field() -> None:
    """TsvOutput._dump_obj: a dict value is written as '' (keeps the column count)."""
    fields = render({"a": 1, "b": {"x": 1}, "c": 2}, "tsv").rstrip("\n").split("\t")
    assert fields == ["1", "", "2"]


def test_tsv_columns_in_sorted_key_order_without_a_query() -> None:
    """TsvOutput._dump_row: a plain dict (todict() made every result one) is written in sorted key order."""
    assert render({"Version": 1, "Name": "n", "CreatedTime": "t"}, "tsv") == "t\tn\t1\n"


def test_tsv_keeps_the_querys_key_order() -> None:
    """_query.py searches with Options(OrderedDict); TsvOutput writes an OrderedDict in insertion order."""
    image = {"Name": "img", "Version": 3, "CreationState": "Succeeded", "Id": "i"}
    assert render(image, "tsv", q("{n:Name,v:Version,s:CreationState}")) == "img\t3\tSucceeded\n"
    assert render([image], "tsv", q("[].{s:CreationState,n:Name}")) == "Succeeded\timg\n"


def test_tsv_one_line_per_list_item_and_scalars_as_text() -> None:
    """format_tsv: a list result is one row per item; a scalar item is its str()."""
    assert render(["a", 2, 1.5], "tsv") == "a\n2\n1.5\n"


def test_tsv_booleans_and_none() -> None:
    """TsvOutput._dump_row: a top-level bool is lower-cased; inside a row bools and None are str() -> True, None."""
    assert render(True, "tsv") == "true\n"
    assert render({"a": True, "b": None, "c": False}, "tsv") == "True\tNone\tFalse\n"


def test_tsv_nested_lists_in_a_list_row() -> None:
    """TsvOutput._dump_row: a list row is tab-joined; a list inside it is its length."""
    assert render([[1, [1, 2]], ["x", {}]], "tsv") == "1\t2\nx\t\n"


def test_tsv_unicode_is_written_as_is() -> None:
    """TsvOutput writes str values unchanged (no escaping, unlike JSON)."""
    assert render({"a": "café"}, "tsv") == "café\n"


def test_tsv_of_an_empty_list_prints_nothing() -> None:
    """format_tsv of [] writes no row."""
    assert render([], "tsv") == ""


# ---- tables (_output.py format_table / TableOutput; knack format_table / _TableOutput) ------------------

def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def test_auto_table_sorts_keys_and_capitalises_headers_without_query_or_transformer() -> None:
    """format_table: should_sort_keys = not query and not transformer; _capitalize_first_char on headers."""
    lines = _lines(render([{"zeta": "z", "alpha": "a", "mid": "m"}], "table"))
    assert lines[0].split() == ["Alpha", "Mid", "Zeta"]


def test_auto_table_skips_id_type_and_etag() -> None:
    """TableOutput.SKIP_KEYS = ['id', 'type', 'etag'] (exact, lower case: 'Id' stays)."""
    header = _lines(render({"id": 1, "type": "t", "etag": "e", "Id": "kept", "name": "n"}, "table"))[0].split()
    assert header == ["Id", "Name"]


def test_auto_table_leaves_out_lists_and_objects() -> None:
    """TableOutput._auto_table_item: list, dict and set values are not columns."""
    header = _lines(render(MANIFEST, "table"))[0].split()
    assert "ModelIds" not in header and "TargetRuntime" not in header and "Empty" not in header
    assert header == ["Description", "Id", "Name", "Version"]


def test_auto_table_leaves_out_every_falsy_value() -> None:
    """2.0.22 TableOutput._auto_table_item kept a value only `if item[k]`: 0, False, '' and None all go
    (knack keeps 0, False and '')."""
    header = _lines(render({"a": 0, "b": False, "c": "", "d": None, "e": "x", "f": 1}, "table"))[0].split()
    assert header == ["E", "F"]


def test_auto_table_with_a_query_keeps_the_querys_order() -> None:
    """format_table: with a query keys are not sorted, so the OrderedDict of the projection gives the order;
    headers get their first letter capitalised only."""
    rows = [{"Name": "b", "Version": 2, "State": "Succeeded"}, {"Name": "a", "Version": 10, "State": "Failed"}]
    lines = _lines(render(rows, "table", q("[].{name:Name,state:State,createdAt:Version}")))
    assert lines[0].split() == ["Name", "State", "CreatedAt"]
    assert lines[2].split() == ["b", "Succeeded", "2"] and lines[3].split() == ["a", "Failed", "10"]


def test_a_query_disables_the_table_transformer() -> None:
    """format_table applies obj.table_transformer only `if ... not obj.is_query_active`."""
    def transformer(result):
        raise AssertionError("the transformer must not run under a query")

    assert _lines(render([{"Name": "n"}], "table", q("[].Name"), transformer)) == ["Result", "--------", "n"]


def test_transformer_columns_keep_the_transformers_order() -> None:
    """format_table: with a transformer keys are not sorted (its OrderedDict order is the column order)."""
    def transformer(result):
        return [OrderedDict([("Zed", r["z"]), ("Ay", r["a"])]) for r in result]

    assert _lines(render([{"a": "1x", "z": "2y"}], "table", None, transformer))[0].split() == ["Zed", "Ay"]


def test_a_failing_transformer_means_table_output_unavailable() -> None:
    """format_table: any exception -> CLIError('Table output unavailable. Use the --query option ...')."""
    with pytest.raises(TableUnavailable):
        render({"a": 1}, "table", None, lambda result: result["missing"])


def test_scalar_and_list_results_get_result_and_column_headers() -> None:
    """TableOutput._auto_table_item: a scalar is a 'Result' column, a list row gives Column1..N."""
    assert _lines(render(["x", "y"], "table"))[0] == "Result"
    assert _lines(render([[1, 2]], "table"))[0].split() == ["Column1", "Column2"]


def test_numbers_are_right_aligned_and_number_strings_are_parsed() -> None:
    """2.0.22 TableOutput.dump called tabulate with number parsing on (knack: disable_numparse=True):
    '0.50' is shown as the number 0.5 and right-aligned with the numbers of its column."""
    lines = _lines(render([{"cpu": "0.50", "n": 7}, {"cpu": "12", "n": 100}], "table"))
    assert lines[2] == "  0.5    7" and lines[3] == " 12    100"


def test_an_empty_list_prints_one_empty_line() -> None:
    """TableOutput.dump returns '' + '\\n' when there is no row (and main prints it)."""
    assert render([], "table") == "\n"


def test_booleans_in_tables() -> None:
    """True is shown as True; False is falsy, so its column is left out (rule above)."""
    assert _lines(render({"ok": True, "off": False}, "table")) == ["Ok", "----", "True"]


def test_rows_with_different_keys_share_columns_in_first_seen_order() -> None:
    """tabulate(headers='keys') over OrderedDicts: the union of keys; a missing cell is blank."""
    lines = _lines(render([{"b": "1"}, {"a": "x", "b": "2"}], "table"))
    assert lines[0].split() == ["B", "A"] and lines[2].split() == ["1"] and lines[3].split() == ["2", "x"]


def test_a_newline_in_a_cell_is_not_a_multiline_cell() -> None:
    """tabulate 0.7.7 (pinned by 2.0.22) had no multiline cells: the text is printed as it is."""
    assert render({"a": "one\ntwo", "b": "x"}, "table") == "A        B\n-------  ---\none\ntwo  x\n"


def test_unicode_in_tables_is_written_as_is() -> None:
    """Tables print str values unchanged."""
    assert "café" in render({"name": "café"}, "table")


# ---- --query (_query.py; knack query.py) ----------------------------------------------------------------

def test_an_invalid_query_is_a_usage_error_named_query(capsys: pytest.CaptureFixture[str]) -> None:
    """_query.py: jmespath_type.__name__ = 'query', so argparse says 'invalid query value' (knack:
    'invalid jmespath_type value'); exit code 2."""
    parser = _build_parser(("model", "list"), COMMANDS[("model", "list")])
    with pytest.raises(UsageError):
        parser.parse_args(["--query", "[?"])
    err = capsys.readouterr().err
    assert err.startswith("ERROR: az ml model list: error: argument --query: invalid query value: '[?'\n")
    assert "usage: az ml model list" in err


def test_a_query_with_no_result_prints_nothing() -> None:
    """main prints only `if cmd_result and cmd_result.result is not None`: a None query result is silent."""
    assert render([{"a": 1}], "json", q("[0].missing")) == ""
    assert render([{"a": 1}], "tsv", q("missing")) == ""


def test_a_query_applies_to_the_transformed_result() -> None:
    """Application.execute: TRANSFORM_RESULT then FILTER_RESULT (the query) on the command's result."""
    summary = [{"Name": "m", "Id": "1"}, {"Name": "n", "Id": "2"}]
    assert render(summary, "tsv", q("[?Name=='n'].Id")) == "2\n"


# ---- --output parsing (application.py _register_builtin_arguments) --------------------------------------

def test_output_format_is_lower_cased_before_the_choice_check() -> None:
    """`--output` has type=str.lower: `-o TABLE` is table."""
    parser = _build_parser(("model", "list"), COMMANDS[("model", "list")])
    assert parser.parse_args(["-o", "TABLE"])._output == "table"


def test_an_unknown_output_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`--output` choices are json, tsv, table, jsonc (in that order)."""
    parser = _build_parser(("model", "list"), COMMANDS[("model", "list")])
    with pytest.raises(UsageError):
        parser.parse_args(["-o", "yaml"])
    err = capsys.readouterr().err
    assert "argument --output/-o: invalid choice: 'yaml' (choose from 'json', 'tsv', 'table', 'jsonc')" in err


# ---- writing (_output.py OutputProducer.out) -------------------------------------------------------------

def test_unencodable_characters_are_dropped_silently(capsys: pytest.CaptureFixture[str]) -> None:
    """OutputProducer.out: on UnicodeEncodeError print output.encode('ascii', 'ignore') (no warning)."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    write("café\n", stream)
    assert raw.getvalue() == b"caf\n" and capsys.readouterr().err == ""


def test_a_closed_pipe_is_not_an_error() -> None:
    """OutputProducer.out ignores EPIPE."""
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    write("x\n", Closed())
