"""The one way YAML is read and written: safe loader, plain block style (recipes and cassettes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so cassettes read like the transcripts."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _list_representer(dumper: yaml.SafeDumper, data: list[object]) -> yaml.SequenceNode:
    # argv lists on one line, like the `$ cmd` lines of the transcripts
    flow = bool(data) and all(isinstance(item, str) and "\n" not in item for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(list, _list_representer)


def load_text(text: str) -> Any:
    """Parse YAML text with the safe loader (raises yaml.YAMLError)."""
    return yaml.safe_load(text)


def load(path: Path) -> Any:
    """Read a YAML file with the safe loader."""
    return load_text(path.read_text(encoding="utf-8"))


def dump(data: Any) -> str:
    """Serialize to YAML (keys in insertion order, literal blocks for multi-line strings)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)
