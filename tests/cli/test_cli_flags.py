"""Flags as the genuine CLI parsed them and sent them (legacy reference 5 and Appendix A), in-process.

* which command accepts which flag, and which are required: every command's parser against the genuine
  help text of azure-cli-ml 0.1.0a27.post3 (Appendix A, kept in mlops_engine/cli/helps.json);
* type conversion: the genuine int flags (reference 5 tables) reject a non-integer with an argparse error;
* falsy values: a flag whose value is falsy is left out of the service request (`-z 0` -> server default).
"""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from mlops_engine.cli.commands.batch_table import ENGINE_FLAGS, PIPELINE_COMMANDS
from mlops_engine.cli.commands.service import _options
from mlops_engine.cli.commands.table import COMMANDS
from mlops_engine.cli.errors import UsageError
from mlops_engine.cli.main import _build_parser, main

GLOBAL = {"-h", "--help", "--output", "-o", "--verbose", "--debug", "--query"}
HIDDEN = {("env", "set"): {"--disable-dashboard"}}  # registered hidden in the genuine CLI (reference 5.1)
# Not part of azure-cli-ml (Workbench-only, or engine additions; docs/compatibility.md): no genuine help.
NOT_GENUINE = {("experiment", "submit"), ("experiment", "prepare"), *PIPELINE_COMMANDS}
# `--driver-file -f [Required]` (no description) is a flag line too (service create batch, transcript 01)
_ARG = re.compile(r"^    (-[^:\[]*?)\s*(\[Required\])?\s*(?::(.*))?$")
ENGINE_SECTION = "Local Engine Arguments"  # the engine's own flags (batch_table.ENGINE_FLAGS), after the genuine ones


def _genuine_text(path: tuple[str, ...]) -> str:
    """The genuine help's argument sections (without the engine's section and the global arguments)."""
    helps = json.loads(resources.files("mlops_engine.cli").joinpath("helps.json").read_text())
    return helps[" ".join(("az", "ml", *path))].split(ENGINE_SECTION)[0].split("Global Arguments")[0]


def _genuine(path: tuple[str, ...]) -> dict[str, bool]:
    """Flag -> required, from the genuine help of `az ml <path>`."""
    flags: dict[str, bool] = {}
    for line in _genuine_text(path).splitlines():
        match = _ARG.match(line)
        if match:  # `--name -n [Required]: ...` is argparse-required; `--image-id : [Required] ...` is not
            for flag in match.group(1).split():
                flags[flag] = bool(match.group(2))
    return flags


def _ours(path: tuple[str, ...]) -> dict[str, bool]:
    parser = _build_parser(path, COMMANDS[path])
    return {flag: action.required for action in parser._actions for flag in action.option_strings
            if flag not in GLOBAL and flag not in HIDDEN.get(path, set()) and flag not in ENGINE_FLAGS.get(path, ())}


@pytest.mark.parametrize("path", [p for p in COMMANDS if p not in NOT_GENUINE], ids=" ".join)
def test_each_command_accepts_exactly_the_genuine_flags(path: tuple[str, ...]) -> None:
    """Same flags, same short forms, same argparse-required ones (group-required ones, shown as
    `: [Required] ...` in a group, are checked by the handler, as in the genuine CLI)."""
    assert _ours(path) == _genuine(path)


def test_engine_flags_are_listed_apart_in_the_help():
    """The engine's own flags (docs/compatibility.md) exist, and their help lists them in their own section."""
    helps = json.loads(resources.files("mlops_engine.cli").joinpath("helps.json").read_text())
    for path, flags in ENGINE_FLAGS.items():
        parser = _build_parser(path, COMMANDS[path])
        assert set(flags) <= {f for action in parser._actions for f in action.option_strings}
        section = helps[" ".join(("az", "ml", *path))].split(ENGINE_SECTION)[1].split("Global Arguments")[0]
        assert sorted(m.group(1) for line in section.splitlines() if (m := _ARG.match(line))) == sorted(flags)


def _help_defaults(path: tuple[str, ...]) -> dict[str, str]:
    """Long flag -> the `Default: X` its genuine help states."""
    entries: list[tuple[str, str]] = []
    for line in _genuine_text(path).splitlines():
        match = _ARG.match(line)
        if match:
            entries.append((match.group(1).split()[0], match.group(3) or ""))
        elif entries and line.startswith("     "):
            entries[-1] = (entries[-1][0], entries[-1][1] + " " + line.strip())
    found = {flag: re.search(r"Default:\s*(\S+?)\.?$", text.strip()) for flag, text in entries}
    return {flag: m.group(1) for flag, m in found.items() if m}


# Defaults the genuine help states but the handler applies (same request), or that we changed on purpose.
DEFAULT_IN_HANDLER = {
    (("env", "setup"), "--agent-count"): "the request gets agentCount 2 when -z is absent or 0 (env.setup)",
    (("env", "setup"), "--agent-vm-size"): "the request gets Standard_D3_v2 when absent (env.setup)",
    (("account", "modelmanagement", "update"), "--tags"): "data-loss bug fixed: tags are sent only when given",
}


@pytest.mark.parametrize("path", [p for p in COMMANDS if p not in NOT_GENUINE], ids=" ".join)
def test_defaults_are_the_genuine_ones(path: tuple[str, ...]) -> None:
    """Every `Default: X` of the genuine help is the parsed value when the flag is absent."""
    parser = _build_parser(path, COMMANDS[path])
    for flag, default in _help_defaults(path).items():
        if (path, flag) in DEFAULT_IN_HANDLER:
            assert _action(parser, flag).default is None
            continue
        assert str(_action(parser, flag).default) == default, flag


def test_help_defaults_are_read() -> None:
    """The reader above finds the genuine defaults (the test before it cannot pass by finding none)."""
    assert _help_defaults(("service", "logs", "realtime")) == {"--max-lines": "5000"}
    assert _help_defaults(("env", "setup")) == {"--agent-count": "2", "--agent-vm-size": "Standard_D3_v2",
                                                "--master-count": "1"}
    assert _help_defaults(("account", "modelmanagement", "create")) == {"--sku-instances": "1", "--sku-name": "S1",
                                                                        "--tags": "{}"}


def test_service_update_has_no_l(capsys: pytest.CaptureFixture[str]) -> None:
    """`service update realtime` has `--enable-app-insights` without a short form (Appendix A): `-l false`
    is an argparse error, exit 2, before anything is sent."""
    assert main(["service", "update", "realtime", "-i", "svc", "-l", "false"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: az ml service update realtime: error: unrecognized arguments: -l false\n")


# The flags the genuine command table declares as int (reference 5: "int" in the flag tables).
INT_FLAGS = {
    ("account", "modelmanagement", "create"): ["--sku-instances"],
    ("account", "modelmanagement", "update"): ["--sku-instances"],
    ("env", "setup"): ["--agent-count", "-z", "--master-count", "-m"],
    ("service", "create", "realtime"): ["-z", "--autoscale-min-replicas", "--autoscale-max-replicas",
                                        "--autoscale-target-utilization", "--autoscale-refresh-period-seconds",
                                        "--replica-max-concurrent-requests"],
    ("service", "update", "realtime"): ["-z", "--autoscale-min-replicas", "--autoscale-max-replicas",
                                        "--autoscale-target-utilization", "--autoscale-refresh-period-seconds",
                                        "--replica-max-concurrent-requests"],
    ("service", "logs", "realtime"): ["--max-lines", "-l"],
}
STRING_VALUES = {  # values the genuine CLI passed on as strings, for the service to judge
    ("service", "create", "realtime"): {"--cpu": "abc", "--memory": "lots", "-l": "maybe"},
    ("service", "update", "realtime"): {"--cpu": "abc", "--memory": "lots", "--enable-app-insights": "maybe"},
}
REQUIRED = {("account", "modelmanagement", "create"): ["-n", "a", "-g", "g", "-l", "x"],
            ("account", "modelmanagement", "update"): ["-n", "a", "-g", "g"],
            ("env", "setup"): ["-n", "e", "-l", "x"], ("service", "create", "realtime"): ["-n", "svc"],
            ("service", "update", "realtime"): ["-i", "svc"], ("service", "logs", "realtime"): []}


@pytest.mark.parametrize(("path", "flag"), [(p, f) for p, flags in INT_FLAGS.items() for f in flags],
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_int_flags_reject_non_integers(path: tuple[str, ...], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = _build_parser(path, COMMANDS[path])
    assert getattr(parser.parse_args([*REQUIRED[path], flag, "7"]), _dest(parser, flag)) == 7
    with pytest.raises(UsageError):
        parser.parse_args([*REQUIRED[path], flag, "1.5"])
    assert f"argument {_names(parser, flag)}: invalid int value: '1.5'" in capsys.readouterr().err


@pytest.mark.parametrize("path", list(STRING_VALUES), ids=" ".join)
def test_string_flags_are_passed_on_unchecked(path: tuple[str, ...]) -> None:
    parser = _build_parser(path, COMMANDS[path])
    for flag, value in STRING_VALUES[path].items():
        assert getattr(parser.parse_args([*REQUIRED[path], flag, value]), _dest(parser, flag)) == value


def _action(parser, flag):
    return next(a for a in parser._actions if flag in a.option_strings)


def _dest(parser, flag) -> str:
    return str(_action(parser, flag).dest)


def _names(parser, flag) -> str:
    return "/".join(_action(parser, flag).option_strings)


def test_falsy_flag_values_are_left_out_of_the_request() -> None:
    """The genuine CLI dropped a falsy value from the service request (issue 14: `-z 0` creates the service
    with the default replica count); empty strings are falsy too."""
    body = _options(app_insights="", collect="", autoscale="", num_replicas=0, amin=0, amax=0, target=0,
                    refresh=0, cpu="", memory="", max_concurrent=0)
    assert body == {"autoScaler": {}, "containerResourceReservation": {}}


def test_given_flag_values_are_sent_as_typed() -> None:
    """true/false become booleans (any case); ints stay ints; cpu and memory stay strings."""
    body = _options(app_insights="TRUE", collect="false", autoscale=None, num_replicas=2, amin=None, amax=None,
                    target=None, refresh=None, cpu="0.5", memory="1G", max_concurrent=3)
    assert body == {"numReplicas": 2, "appInsightsEnabled": True,
                    "dataCollection": {"storageEnabled": False, "eventHubEnabled": False}, "autoScaler": {},
                    "containerResourceReservation": {"cpu": "0.5", "memory": "1G"},
                    "maxConcurrentRequestsPerContainer": 3}


def test_autoscale_false_is_sent_and_replicas_dropped_only_when_autoscale_is_on() -> None:
    """`--autoscale-enabled false` is a given value (the string is not empty); -z is dropped when autoscale
    is on (reference 5.6 [SRC])."""
    off = _options(None, None, "false", 2, 1, None, None, None, None, None, None)
    assert off["numReplicas"] == 2 and off["autoScaler"] == {"autoscaleEnabled": False, "minReplicas": 1}
    on = _options(None, None, "true", 2, 1, 4, None, None, None, None, None)
    assert "numReplicas" not in on and on["autoScaler"] == {"autoscaleEnabled": True, "minReplicas": 1,
                                                            "maxReplicas": 4}


def test_command_words_are_case_insensitive(capsys: pytest.CaptureFixture[str]) -> None:
    """2.0.22 `Application.execute` lower-cased the words before the first flag: `az ml MODEL Foo` is
    reported as the (lower-case) invalid choice 'foo'."""
    assert main(["MODEL", "Foo"]) == 2
    assert capsys.readouterr().err.startswith("ERROR: az ml model: error: argument subcommand: invalid choice: foo")
