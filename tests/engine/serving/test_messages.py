"""The control protocol between supervisor and replica (serving/messages.py): wire format, round trips, errors."""

from __future__ import annotations

import json

import pytest

from mlops_engine.serving.messages import (
    PROTOCOL_VERSION,
    Config,
    Drain,
    InitFailed,
    Keys,
    ProtocolError,
    Ready,
    Serve,
    decode_command,
    decode_event,
)

# The wire as docs/engine-api.md section 4 documents it: one JSON object per line.
COMMANDS = [
    (Config(keys=("pk", "sk")), {"cmd": "config", "version": PROTOCOL_VERSION, "keys": ["pk", "sk"]}),
    (Config(keys=None), {"cmd": "config", "version": PROTOCOL_VERSION, "keys": None}),
    (Serve(), {"cmd": "serve"}),
    (Keys(keys=("new", "sk")), {"cmd": "keys", "keys": ["new", "sk"]}),
    (Drain(timeout=2.5), {"cmd": "drain", "timeout": 2.5}),
]
EVENTS = [
    (Ready(health_port=40123), {"event": "ready", "healthPort": 40123}),
    (InitFailed(error="RuntimeError: no model"), {"event": "init_failed", "error": "RuntimeError: no model"}),
]


@pytest.mark.parametrize(("message", "wire"), COMMANDS, ids=lambda v: type(v).__name__)
def test_commands_encode_to_the_documented_line_and_decode_back(message, wire):
    line = message.encode()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == wire
    assert decode_command(line) == message
    assert decode_command(line.rstrip(b"\n")) == message


@pytest.mark.parametrize(("message", "wire"), EVENTS, ids=lambda v: type(v).__name__)
def test_events_encode_to_the_documented_line_and_decode_back(message, wire):
    line = message.encode()
    assert json.loads(line) == wire
    assert decode_event(line) == message


def test_drain_timeout_defaults_and_integer_timeouts():
    assert decode_command(b'{"cmd": "drain"}') == Drain(10.0)
    assert decode_command(b'{"cmd": "drain", "timeout": 3}') == Drain(3.0)


def test_a_command_is_not_an_event_and_back():
    with pytest.raises(ProtocolError, match="unknown event None"):
        decode_event(Serve().encode())
    with pytest.raises(ProtocolError, match="unknown cmd None"):
        decode_command(Ready(1).encode())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "a JSON list instead of an object"),
        (b'{"cmd": "reboot"}', "unknown cmd 'reboot'"),
        (b'{"cmd": 7}', "unknown cmd 7"),
        (b'{"cmd": "config", "keys": null}', "config carries no protocol version"),
        (b'{"cmd": "config", "version": true, "keys": null}', "config carries no protocol version"),
        (b'{"cmd": "config", "version": 1, "keys": ["only-one"]}', "keys must be a list of two strings"),
        (b'{"cmd": "keys", "keys": "pk"}', "keys must be a list of two strings"),
        (b'{"cmd": "keys", "keys": ["pk", 3]}', "keys must be a list of two strings"),
        (b'{"cmd": "drain", "timeout": -1}', "drain timeout must be a non-negative number"),
        (b'{"cmd": "drain", "timeout": "soon"}', "drain timeout must be a non-negative number"),
        (b'{"cmd": "drain", "timeout": true}', "drain timeout must be a non-negative number"),
    ],
)
def test_malformed_commands_are_refused_with_the_reason(line, message):
    with pytest.raises(ProtocolError, match=message):
        decode_command(line)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"event": "ready"}', "invalid healthPort None"),
        (b'{"event": "ready", "healthPort": 0}', "invalid healthPort 0"),
        (b'{"event": "ready", "healthPort": "80"}', "invalid healthPort '80'"),
        (b'{"event": "exploded"}', "unknown event 'exploded'"),
    ],
)
def test_malformed_events_are_refused_with_the_reason(line, message):
    with pytest.raises(ProtocolError, match=message):
        decode_event(line)


def test_a_config_of_another_version_decodes_so_the_replica_can_say_so():
    assert decode_command(b'{"cmd": "config", "version": 2, "keys": null}') == Config(keys=None, version=2)


def test_errors_never_echo_the_line_which_may_carry_keys():
    secret = "k3y-" + "x" * 40
    for line in (
        f'{{"cmd": "keys", "keys": ["{secret}"'.encode(),  # truncated: not JSON
        f'{{"cmd": "keys", "keys": ["{secret}"]}}'.encode(),  # one key only
        f'{{"cmd": "config", "keys": ["{secret}", "{secret}"]}}'.encode(),  # no version
    ):
        with pytest.raises(ProtocolError) as info:
            decode_command(line)
        assert secret not in str(info.value)
