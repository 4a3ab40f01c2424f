"""The records the command tables are made of: one `Command` per `az ml` command, one `Arg` per flag."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    dest: str
    required: bool = False
    action: str | None = None  # store_true | append
    default: Any = None
    type: Any = None
    nargs: str | None = None
    const: Any = None
    hidden: bool = False


@dataclass(frozen=True)
class Command:
    handler: str  # "module:function" under mlops_engine.cli.commands
    args: tuple[Arg, ...] = field(default_factory=tuple)
    positionals: tuple[str, ...] = ()  # experiment submit: script + its args
    usage: str | None = None  # the genuine custom usage text (argparse `usage`), when it had one
    text_output: bool = False  # prints its genuine text unless -o/--query ask otherwise (cli/printed.py)


def A(*flags: str, dest: str, **kw: Any) -> Arg:
    return Arg(tuple(flags), dest, **kw)
