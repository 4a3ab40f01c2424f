"""`az ml ...` entry point of the local engine: dispatch, help, output and the top-level error handler.

`az` words other than `ml` are not ours: they are handed to the genuine Azure CLI if one is installed
further along PATH (so installing this project never silently shadows it), else refused clearly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
from importlib import resources
from typing import Any, NoReturn

from mlops_engine.cli.commands.table import COMMANDS, Arg, Command, groups
from mlops_engine.cli.errors import CliError, TableUnavailable, UsageError
from mlops_engine.cli.output import OUTPUT_FORMATS, query_type

GLOBAL_HELP = """Global Arguments
    --debug            : Increase logging verbosity to show all debug logs.
    --help -h          : Show this help message and exit.
    --output -o        : Output format.  Allowed values: json, jsonc, table, tsv.  Default: json.
    --query            : JMESPath query string. See http://jmespath.org/ for more information and
                         examples.
    --verbose          : Increase logging verbosity. Use --debug for full debug logs.
"""


def _helps() -> dict[str, str]:
    return json.loads(resources.files("mlops_engine.cli").joinpath("helps.json").read_text())


def _help_text(path: tuple[str, ...], is_command: bool) -> str:
    name = " ".join(("az", "ml") + path)
    text = _helps().get(name)
    if text is None:
        if is_command:
            text = f"Command\n    {name}\n"
        else:
            children = groups().get(path, [])
            text = f"Group\n    {name}\n\nCommands:\n" + "".join(f"    {c}\n" for c in children)
    glob = is_command and "Global Arguments" not in text  # batch helps carry theirs, aligned as the genuine ones
    return "\n" + text + ("\n" + GLOBAL_HELP if glob else "") + ("\n" if glob or not is_command else "")


class _HelpAction(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS)

    def __call__(self, parser: argparse.ArgumentParser, *a: Any, **k: Any) -> NoReturn:
        sys.stdout.write(_help_text(parser.path, True))  # type: ignore[attr-defined]
        raise SystemExit(0)


class _Parser(argparse.ArgumentParser):
    path: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"ERROR: {self.prog}: error: {message}\n")
        self.print_usage(sys.stderr)
        raise UsageError()


def _build_parser(path: tuple[str, ...], command: Command) -> _Parser:
    parser = _Parser(prog=" ".join(("az", "ml") + path), add_help=False, usage=command.usage)
    parser.path = path
    parser.add_argument("-h", "--help", action=_HelpAction)
    # azure-cli-core 2.0.22 `Application._register_builtin_arguments` and `_query.py`: `-o` is lower-cased
    # before its choices are checked; `--query` is compiled while parsing (a bad one is a usage error).
    default = None if command.text_output else "json"  # None: the command's genuine text (cli/printed.py)
    parser.add_argument("--output", "-o", dest="_output", choices=OUTPUT_FORMATS, default=default, type=str.lower)
    parser.add_argument("--verbose", dest="_verbose", action="store_true")
    parser.add_argument("--debug", dest="_debug", action="store_true")
    parser.add_argument("--query", dest="_query", metavar="JMESPATH", type=query_type)
    for arg in command.args:
        _add(parser, arg)
    if command.positionals:
        parser.add_argument(command.positionals[0])
        parser.add_argument(command.positionals[1], nargs=argparse.REMAINDER)
    return parser


def _add(parser: argparse.ArgumentParser, arg: Arg) -> None:
    kw: dict[str, Any] = {"dest": arg.dest, "default": arg.default}
    if arg.action:
        kw["action"] = arg.action
    else:
        kw["metavar"] = arg.dest.upper()
        if arg.type:
            kw["type"] = arg.type
        if arg.nargs:
            kw["nargs"] = arg.nargs
            kw["const"] = arg.const
    if arg.required:
        kw["required"] = True
    if arg.hidden:
        kw["help"] = argparse.SUPPRESS
    parser.add_argument(*arg.flags, **kw)


def _group_error(path: tuple[str, ...], word: str) -> NoReturn:
    prog = " ".join(("az", "ml") + path)
    choices = ",".join(groups().get(path, []))
    sys.stderr.write(f"ERROR: {prog}: error: argument subcommand: invalid choice: {word}\n")
    sys.stderr.write(f"usage: {prog} [-h] {{{choices}}} ...\n")
    raise UsageError()


def main(argv: list[str] | None = None) -> int:
    """Run `az ml <argv>` (argv without the leading 'ml'); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    tree = groups()
    path: tuple[str, ...] = ()
    try:
        while (path not in COMMANDS) and argv and not argv[0].startswith("-"):
            word = argv[0].lower()  # 2.0.22 `Application.execute` lower-cases the command words
            if word not in tree.get(path, []):
                _group_error(path, word)
            path, argv = path + (word,), argv[1:]
        if path not in COMMANDS:
            if argv and argv[0] not in ("-h", "--help"):
                _group_error(path, argv[0])
            sys.stdout.write(_help_text(path, False))
            return 0
        command = COMMANDS[path]
        ns = vars(_build_parser(path, command).parse_args(argv))
        return _run(path, command, ns)
    except UsageError:
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130


def _run(path: tuple[str, ...], command: Command, ns: dict[str, Any]) -> int:
    from mlops_engine.cli.context import Context
    from mlops_engine.cli.output import render, write
    from mlops_engine.cli.printed import Printed

    output, query = ns.pop("_output"), ns.pop("_query")
    for key in ("_verbose", "_debug"):
        ns.pop(key)
    module_name, func_name = command.handler.split(":")
    func = getattr(importlib.import_module(f"mlops_engine.cli.commands.{module_name}"), func_name)
    ctx = Context()
    ctx.plain = output is None and query is None
    try:
        result = func(ctx, **ns)
        sys.stdout.flush()
        if isinstance(result, Printed):
            text = result.choose(output, query is not None)
            write(text if text is not None else render(result.value, output or "json", query), sys.stdout)
        elif result is not None:
            value, transformer = result if isinstance(result, tuple) else (result, None)
            write(render(value, output, query, transformer), sys.stdout)
        return 0
    except TableUnavailable:
        sys.stdout.flush()
        sys.stderr.write(
            "ERROR: Table output unavailable. Use the --query option to specify an appropriate query. "
            "Use --debug for more info.\n"
        )
        return 1
    except CliError as err:
        sys.stdout.flush()
        sys.stderr.write(err.render() + "\n")
        if err.hint and sys.stderr.isatty():
            from mlops_engine.cli.hints import render_hint

            sys.stderr.write(render_hint(err.hint))
        return 1
    finally:
        ctx.close()


def _genuine_az() -> str | None:
    """The first `az` on PATH that is not this environment's own entry point."""
    own = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    own_dir = os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else ""
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or os.path.abspath(entry) == own_dir:
            continue
        candidate = shutil.which("az", path=entry)
        if candidate and os.path.realpath(candidate) != own:
            return candidate
    return None


def entry() -> NoReturn:
    """Console script `az`: `ml` is ours; anything else goes to the genuine Azure CLI if installed."""
    args = sys.argv[1:]
    if args and args[0] == "ml":
        raise SystemExit(main(args[1:]))
    if args and args[0] in ("--version", "version"):
        from mlops_engine import LEGACY_CLI_VERSION, __version__

        print(f"mlops local engine {__version__} (az ml compatible with azure-cli-ml {LEGACY_CLI_VERSION})")
        raise SystemExit(0)
    genuine = _genuine_az()
    if genuine:
        os.execv(genuine, [genuine, *args])
    sys.stderr.write(
        "ERROR: this 'az' is the mlops local engine; it implements only 'az ml ...'. "
        "The genuine Azure CLI was not found further along PATH"
        + (f" (for 'az {args[0]}')" if args else "")
        + ". Install it, or call it by its full path.\n"
    )
    raise SystemExit(2)
