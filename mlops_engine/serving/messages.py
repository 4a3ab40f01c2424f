"""Control messages between the supervisor and a replica (docs/engine-api.md section 4), both directions.

Wire format: one JSON object per line. Commands travel supervisor -> replica on the replica's stdin
(`{"cmd": ...}`); events travel replica -> supervisor on its `--status-fd` pipe (`{"event": ...}`).
The first command is always `Config`, which carries the protocol version: a replica of another mlops
version (an `MLOPS_SERVING_PYTHON` with a different install) answers `InitFailed` instead of misreading
what follows. Keys travel only here (stdin), never in argv or the environment.

Why this shape: both sides import this one module, so the whole protocol reads in one file and neither
side builds or picks apart a dict (conventions 22). Decoding is strict: a line that is not a message of
this protocol raises `ProtocolError`, and each reader decides what that means for it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

PROTOCOL_VERSION: Final = 1
DEFAULT_DRAIN_TIMEOUT_S: Final = 10.0

ServiceKeys: TypeAlias = tuple[str, str]  # (primary, secondary)
_Wire: TypeAlias = dict[str, object]
_M = TypeVar("_M")


class ProtocolError(ValueError):
    """A control line that is not a message of this protocol (the text says what is wrong with it)."""


# supervisor -> replica (stdin) -----------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """First line: the protocol version and the cluster keys (None in local mode). Read before init()."""

    keys: ServiceKeys | None
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        return _line({"cmd": "config", "version": self.version, "keys": _keys_out(self.keys)})

    @classmethod
    def _decode(cls, wire: _Wire) -> Config:
        version = wire.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ProtocolError("config carries no protocol version")
        raw = wire.get("keys")
        return cls(keys=None if raw is None else _keys_in(raw), version=version)


@dataclass(frozen=True)
class Serve:
    """Start accepting on the shared listening socket (sent once the health probe passed)."""

    def encode(self) -> bytes:
        return _line({"cmd": "serve"})

    @classmethod
    def _decode(cls, wire: _Wire) -> Serve:
        return cls()


@dataclass(frozen=True)
class Keys:
    """Regenerated keys: from the next request on, only these are accepted."""

    keys: ServiceKeys

    def encode(self) -> bytes:
        return _line({"cmd": "keys", "keys": _keys_out(self.keys)})

    @classmethod
    def _decode(cls, wire: _Wire) -> Keys:
        return cls(keys=_keys_in(wire.get("keys")))


@dataclass(frozen=True)
class Drain:
    """Stop accepting, finish what is in flight, close idle connections after `timeout` seconds, exit 0."""

    timeout: float = DEFAULT_DRAIN_TIMEOUT_S

    def encode(self) -> bytes:
        return _line({"cmd": "drain", "timeout": self.timeout})

    @classmethod
    def _decode(cls, wire: _Wire) -> Drain:
        timeout = wire.get("timeout", DEFAULT_DRAIN_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout < math.inf:
            raise ProtocolError(f"drain timeout must be a non-negative number of seconds, got {timeout!r}")
        return cls(timeout=float(timeout))


Command: TypeAlias = Config | Serve | Keys | Drain


# replica -> supervisor (--status-fd) ------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    """init() succeeded; the replica answers the health probe on 127.0.0.1:health_port."""

    health_port: int

    def encode(self) -> bytes:
        return _line({"event": "ready", "healthPort": self.health_port})

    @classmethod
    def _decode(cls, wire: _Wire) -> Ready:
        port = wire.get("healthPort")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ProtocolError(f"ready event with an invalid healthPort {port!r}")
        return cls(health_port=port)


@dataclass(frozen=True)
class InitFailed:
    """Start-up failed (the user's init(), the bundle, or the config); the replica exits next."""

    error: str

    def encode(self) -> bytes:
        return _line({"event": "init_failed", "error": self.error})

    @classmethod
    def _decode(cls, wire: _Wire) -> InitFailed:
        return cls(error=str(wire.get("error", "")))


Event: TypeAlias = Ready | InitFailed

_COMMANDS: Final[dict[str, Callable[[_Wire], Command]]] = {
    "config": Config._decode,
    "serve": Serve._decode,
    "keys": Keys._decode,
    "drain": Drain._decode,
}
_EVENTS: Final[dict[str, Callable[[_Wire], Event]]] = {
    "ready": Ready._decode,
    "init_failed": InitFailed._decode,
}


def decode_command(line: bytes) -> Command:
    """One stdin line as a command; ProtocolError if it is not one."""
    return _decode(line, "cmd", _COMMANDS)


def decode_event(line: bytes) -> Event:
    """One status-fd line as an event; ProtocolError if it is not one."""
    return _decode(line, "event", _EVENTS)


def _decode(line: bytes, tag: str, table: dict[str, Callable[[_Wire], _M]]) -> _M:
    try:
        wire: object = json.loads(line)
    except ValueError:
        raise ProtocolError(f"a line of {len(line)} bytes that is not JSON") from None  # no content: keys
    if not isinstance(wire, dict):
        raise ProtocolError(f"a JSON {type(wire).__name__} instead of an object")
    name = wire.get(tag)
    decoder = table.get(name) if isinstance(name, str) else None
    if decoder is None:
        raise ProtocolError(f"unknown {tag} {name!r}")
    return decoder(wire)


def _line(wire: _Wire) -> bytes:
    return json.dumps(wire).encode() + b"\n"


def _keys_out(keys: ServiceKeys | None) -> list[str] | None:
    return None if keys is None else list(keys)


def _keys_in(raw: object) -> ServiceKeys:
    if not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(k, str) for k in raw):
        raise ProtocolError("keys must be a list of two strings (primary, secondary)")
    return (raw[0], raw[1])


__all__ = [
    "DEFAULT_DRAIN_TIMEOUT_S",
    "PROTOCOL_VERSION",
    "Command",
    "Config",
    "Drain",
    "Event",
    "InitFailed",
    "Keys",
    "ProtocolError",
    "Ready",
    "Serve",
    "ServiceKeys",
    "decode_command",
    "decode_event",
]
