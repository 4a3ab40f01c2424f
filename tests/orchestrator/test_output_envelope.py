"""The --output json envelope contract (pinned: change ENVELOPE_VERSION when this test must change)."""

from __future__ import annotations

import io
import json

from orchestrator.output import ENVELOPE_VERSION, Output, envelope
from orchestrator.result import BUG, FAILED, INTERRUPTED, OK, USAGE, Outcome


def test_envelope_keys_and_order_are_pinned():
    doc = envelope(Outcome("history", {"deployments": []}, ("m",), (), OK))
    assert list(doc) == ["version", "command", "status", "data", "messages", "errors", "exitCode"]
    assert doc == {
        "version": 1,
        "command": "history",
        "status": "succeeded",
        "data": {"deployments": []},
        "messages": ["m"],
        "errors": [],
        "exitCode": 0,
    }
    assert ENVELOPE_VERSION == 1


def test_status_is_derived_from_exit_code():
    assert [Outcome("x", exit_code=c).status for c in (OK, FAILED, USAGE, BUG, INTERRUPTED)] == [
        "succeeded",
        "failed",
        "usage_error",
        "crashed",
        "interrupted",
    ]


def test_json_mode_keeps_stdout_for_the_envelope():
    out, err = io.StringIO(), io.StringIO()
    o = Output("json", out, err)
    o.info("progress line")
    o.table(["A"], [["1"]])
    o.finish(Outcome("x", {}, tuple(o.messages), ("boom",), FAILED))
    doc = json.loads(out.getvalue())
    assert doc["messages"] == ["progress line"] and doc["errors"] == ["boom"] and doc["exitCode"] == 1
    assert err.getvalue() == "progress line\n"


def test_text_mode_prints_errors_on_stderr():
    out, err = io.StringIO(), io.StringIO()
    o = Output("text", out, err)
    o.info("hello")
    o.finish(Outcome("x", errors=("boom",), exit_code=FAILED))
    assert out.getvalue() == "hello\n" and err.getvalue() == "error: boom\n"
