"""Command line: parse, build a Session, dispatch, map errors to exit codes (conventions 1, 2, 7).

Exit codes: 0 success; 1 an `MlopsError` (one message on stderr, or the JSON envelope); 2 usage error
(argparse, or an invalid recipe: `RecipeError`, raised before anything runs); 3 unexpected exception (bug:
traceback in $MLOPS_HOME/logs/); 130 Ctrl-C. A closed stdout (`| head`) never stops the work (output.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shlex
import sqlite3
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from orchestrator import __version__, paths, recipes
from orchestrator.cassettes import RecordingRunner
from orchestrator.commands.history import history
from orchestrator.commands.recipe import recipe
from orchestrator.commands.rollback import rollback
from orchestrator.commands.update_service import update_service
from orchestrator.commands.validate import validate
from orchestrator.errors import MlopsError, RecipeError
from orchestrator.journalfile import journal_error
from orchestrator.output import Output
from orchestrator.result import BUG, FAILED, INTERRUPTED, USAGE, ExitCode, Outcome
from orchestrator.scrub import scrub_argv
from orchestrator.session import Session

AZ_ENV: Final = "MLOPS_AZ"
RECORD_ENV: Final = "MLOPS_RECORD"
Handler = Callable[[argparse.Namespace, Session], Outcome]

EPILOG: Final = """\
parameters: every recipe parameter can be overridden with --set KEY=VALUE (repeatable), e.g.
  --set service.name=churn2 --set location=westcentralus --set service.replicas=2
  --set environment.mode=local --set environment.name=stagingenv --set resource_group=myrg
the az executable: --az PATH (or MLOPS_AZ); default: the local engine, `python -m mlops_engine`.
record mode (writes a scrubbed cassette of every command run): --record FILE or MLOPS_RECORD=FILE.
exit codes: 0 ok, 1 error, 2 usage or invalid recipe, 3 bug (traceback in $MLOPS_HOME/logs), 130 interrupted.
"""

UPDATE_HELP: Final = """Train another churn model, register it, build a new image from it and update the running service to that
image (same scoring URL), then smoke-test it with the recipe's sample row. If the smoke test fails, the
service is rolled back to the image it ran before. The account and environment must exist (run
`recipe churn-deploy` first); they are selected again.
"""

ROLLBACK_HELP: Final = """Redeploy an earlier image of a service, then smoke-test it. The target is the image deployed before the
current one (from the journal, or from `az ml image list` when the journal knows nothing), or the one
--to names. The service is looked for in the account and environment where the journal recorded it
(selected as the current ones, and said so), else in the current ones.
"""


def _globals(defaults: bool) -> argparse.ArgumentParser:
    """Global options, accepted before or after the subcommand."""
    d: Callable[[Any], Any] = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("global options")
    g.add_argument(
        "--az", default=d(None), metavar="PATH", help="az executable (or $MLOPS_AZ); default: local engine"
    )
    g.add_argument(
        "--dry-run", action="store_true", default=d(False), help="print every command in order, run nothing"
    )
    g.add_argument(
        "--output", "-o", choices=("text", "json"), default=d("text"), help="json: one versioned envelope"
    )
    g.add_argument(
        "-v", "--verbose", action="count", default=d(0), help="more logging (-v: commands, -vv: their output)"
    )
    g.add_argument(
        "--record", metavar="FILE", default=d(None), help="record a cassette of this run (or $MLOPS_RECORD)"
    )
    return p


def _sets(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe parameter",
    )


def _cmd_recipe(args: argparse.Namespace, session: Session) -> Outcome:
    return recipe(args.recipe, args.sets, session)


def _cmd_update_service(args: argparse.Namespace, session: Session) -> Outcome:
    return update_service(args.model, args.service, args.sets, session)


def _cmd_rollback(args: argparse.Namespace, session: Session) -> Outcome:
    return rollback(args.service, args.to, args.sets, session)


def _cmd_history(args: argparse.Namespace, session: Session) -> Outcome:
    return history(args.service, session)


def _cmd_validate(args: argparse.Namespace, session: Session) -> Outcome:
    return validate(args.recipes, args.sets, session)


def add_recipe_parsers(sub: Any, parent: argparse.ArgumentParser) -> None:
    """`recipe NAME` for each bundled recipe, plus `recipe file PATH`."""
    p = sub.add_parser("recipe", help="run a recipe", parents=[parent], epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    names = p.add_subparsers(dest="recipe_word", metavar="RECIPE", required=True)
    for path in recipes.bundled():
        r = names.add_parser(path.stem, help=f"run the bundled recipe {path.name}", parents=[parent], epilog=EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        _sets(r)
        r.set_defaults(func=_cmd_recipe, recipe=path.stem)
    f = names.add_parser("file", help="run a recipe file", parents=[parent])
    f.add_argument("recipe", metavar="PATH")
    _sets(f)
    f.set_defaults(func=_cmd_recipe)


def build_parser() -> argparse.ArgumentParser:
    parent = _globals(defaults=False)
    parser = argparse.ArgumentParser(
        prog="mlops", description="Deploy, update and roll back az ml real-time services from recipes.",
        parents=[_globals(defaults=True)], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"mlops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_recipe_parsers(sub, parent)

    u = sub.add_parser("update-service", parents=[parent], help="deploy another model version to a service",
                       description=UPDATE_HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    u.add_argument(
        "--model", required=True, choices=("naive_bayes", "decision_tree"),
        help="the churn model to train and deploy (also the registered model's and the manifest's name)",
    )  # fmt: skip
    u.add_argument(
        "--service", metavar="NAME", help="the service to update (default: the recipe's, churnpred)"
    )
    _sets(u)
    u.set_defaults(func=_cmd_update_service)

    r = sub.add_parser("rollback", parents=[parent], help="redeploy an earlier image of a service",
                       description=ROLLBACK_HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    r.add_argument(
        "--service", required=True, metavar="NAME", help="the service to roll back, e.g. churnpred"
    )
    r.add_argument(
        "--to", metavar="VERSION|IMAGE_ID",
        help="the image to go back to: its version number (of the service's image name) or its id "
        "(default: the image deployed before the current one)",
    )  # fmt: skip
    _sets(r)
    r.set_defaults(func=_cmd_rollback)

    h = sub.add_parser("history", parents=[parent], help="images deployed per service (from the journal)")
    h.add_argument("--service", metavar="NAME", help="only this service's deployments")
    h.set_defaults(func=_cmd_history)

    v = sub.add_parser("validate", parents=[parent], help="validate recipes against the schema, run nothing")
    v.add_argument("recipes", nargs="*", metavar="RECIPE", help="names or paths (default: all bundled)")
    _sets(v)
    v.set_defaults(func=_cmd_validate)
    return parser


def _configure_logging(verbosity: int, stream: Any) -> None:
    logger = logging.getLogger("orchestrator")
    for handler in list(logger.handlers):
        if getattr(handler, "_mlops", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler._mlops = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
    logger.propagate = False


def az_prefix(value: str | None) -> tuple[str, ...]:
    """--az, else $MLOPS_AZ, else the local engine's CLI in this interpreter."""
    chosen = value or os.environ.get(AZ_ENV)
    return tuple(shlex.split(chosen)) if chosen else (sys.executable, "-m", "mlops_engine")


def _crash_log(argv: Sequence[str]) -> Path:
    directory = paths.logs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"crash-{stamp}.log"
    path.write_text(
        f"mlops {__version__}, Python {platform.python_version()} on {platform.platform()}\n"
        f"argv: {shlex.join(scrub_argv(argv))}\n\n{traceback.format_exc()}",
        encoding="utf-8",
    )
    return path


def main(argv: Sequence[str] | None = None, *, session: Session | None = None) -> int:
    """Run one mlops command; returns the exit code (never calls sys.exit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    if session is None:
        session = Session(az_prefix=az_prefix(args.az))
    elif args.az:
        session.az_prefix = az_prefix(args.az)
    session.out = Output(args.output, session.out._stdout, session.out._stderr)
    session.dry_run = session.dry_run or args.dry_run
    if Path(sys.argv[0]).name == "mlops":
        session.prog = "mlops"
    _configure_logging(args.verbose, session.out.stderr)
    record_to = args.record or os.environ.get(RECORD_ENV)
    recorder: RecordingRunner | None = None
    if record_to and not session.dry_run:
        recorder = RecordingRunner(session.runner, az_prefix=session.az_prefix, python=session.python)
        session._runner = recorder
    command = " ".join(w for w in (args.command, getattr(args, "recipe_word", None)) if w)
    handler: Handler = args.func
    umask = os.umask(0o077)  # what a run writes goes to MLOPS_HOME, where every file is private (issue 13)
    try:
        outcome = handler(args, session)
    except RecipeError as exc:  # the recipe (or an override) is invalid: nothing has run
        outcome = Outcome(command, {}, tuple(session.out.messages), (str(exc),), USAGE)
    except MlopsError as exc:
        outcome = Outcome(command, {}, tuple(session.out.messages), (str(exc),), FAILED)
    except KeyboardInterrupt:
        outcome = Outcome(command, {}, tuple(session.out.messages), ("interrupted",), INTERRUPTED)
    except sqlite3.DatabaseError as exc:  # only the journal is SQLite: damaged or locked in the middle of a run
        error = journal_error(paths.journal_db(), exc)
        outcome = Outcome(command, {}, tuple(session.out.messages), (str(error),), FAILED)
    except Exception as exc:  # noqa: BLE001 - the one place where anything else is a bug
        log_path = _crash_log(argv)
        outcome = Outcome(
            command, {}, tuple(session.out.messages),
            (f"unexpected error {exc!r}; this is a bug in mlops. Details: {log_path}",), BUG,
        )  # fmt: skip
    finally:
        os.umask(umask)
    if recorder is not None and record_to:
        recorder.save(Path(record_to))
        session.out.detail(f"recorded {len(recorder.interactions)} interactions to {record_to}")
    session.out.finish(outcome)
    return int(ExitCode(outcome.exit_code))


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
