"""Fuzz a real scoring service from its own swagger: no 5xx, whatever the input.

A private engine (conftest.CliEngine) deploys a churn-shaped service (the 29-column PANDAS schema of the
churn lab, int64 / double / string columns) whose run() cannot fail on anything the schema lets through
(tests/engine/fixtures/fuzz_score.py). Its Swagger 2.0 document is fetched from the service's swagger URL
and handed to schemathesis 4.x in-process (`schemathesis.openapi.from_dict` -> `APIOperation.as_strategy`,
driven by hypothesis `@given` inside the test, because the service only exists once the test runs, so
schemathesis' collection-time pytest plugin cannot be used). Every generated case is sent to 127.0.0.1
only (base_url is forced: the swagger advertises `https`, the engine serves plain HTTP on the loopback).

The swagger states the contract the replica enforces (a body, every declared input and no other, every
column in every row, integers within their format's range), so a client generated from it -- here
schemathesis -- sends only requests the service accepts.

Phases, each bounded (hypothesis max_examples, deadline off, no example database):
* positive: bodies valid against the swagger as served, with the right key -> every one 200, scored;
* negative: schema-invalid bodies with the right key -> never 5xx; negative auth: schemathesis' own
  invalid headers/auth too -> never 5xx;
* raw bodies: arbitrary bytes / near-JSON text as the body -> never 5xx;
* raw protocol: garbage on the TCP socket -> never a 5xx answer, and the replica survives (same pid, no
  restart).
A 500 carrying `x-ms-run-function-failed` would be run()'s own error (allowed by the contract); this
run() cannot fail, so every 5xx is counted as an engine failure.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from .conftest import CliEngine

EXAMPLES = 100
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.fixture
def fuzz_service(cli_engine: CliEngine) -> dict[str, Any]:
    cli_engine.setup_cluster()
    model = cli_engine.register_model()
    image = cli_engine.build("fuzzimg", model, "fuzz_score.py", "churn_schema.json")
    sid = cli_engine.create_service("fuzzsvc", image)
    record = cli_engine.service_record(sid)
    key = cli_engine.primary_key(sid)
    parts = urlsplit(record["swaggerUri"])
    assert parts.hostname == "127.0.0.1", record["swaggerUri"]
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    conn.request("GET", parts.path, headers={"Authorization": f"Bearer {key}"})
    resp = conn.getresponse()
    swagger = json.loads(resp.read())
    conn.close()
    assert resp.status == 200 and swagger["swagger"] == "2.0", swagger
    return {
        "engine": cli_engine,
        "id": sid,
        "key": key,
        "port": parts.port,
        "swagger": swagger,
        "score_path": urlsplit(record["scoringUri"]).path,
        "base": f"http://127.0.0.1:{parts.port}",
    }


def _operations(swagger: dict[str, Any]) -> dict[str, Any]:
    schema = schemathesis.openapi.from_dict(swagger)
    ops = {}
    for result in schema.get_all_operations():
        op = result.ok()
        ops[op.method.upper()] = op
    assert set(ops) == {"GET", "POST"}, ops
    return ops


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[tuple[int, str, str]] = []

    def record(self, status: int, request: object, body: str, run_failed: bool = False) -> None:
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(
                (status, repr(request)[:300], ("[run() failed] " if run_failed else "") + body[:300])
            )


@pytest.mark.slow
def test_fuzz_score_from_swagger(fuzz_service: dict[str, Any]) -> None:
    svc = fuzz_service
    ops = _operations(svc["swagger"])
    auth = {"Authorization": f"Bearer {svc['key']}"}
    tallies = {
        name: Tally() for name in ("positive", "negative", "negative auth", "health", "raw body", "raw protocol")
    }

    def call(tally: Tally, case: Any, headers: dict[str, str] | None) -> Any:
        response = case.call(base_url=svc["base"], headers=headers, timeout=10, allow_redirects=False)
        tally.record(
            response.status_code,
            case.body,
            response.text,
            "x-ms-run-function-failed" in {k.lower() for k in response.headers},
        )
        return response

    @SETTINGS
    @given(case=ops["POST"].as_strategy(generation_mode=GenerationMode.POSITIVE, headers=auth))
    def positive(case: Any) -> None:
        response = call(tallies["positive"], case, auth)
        assert response.status_code == 200, (response.status_code, response.text[:300], case.body)
        value = response.json()  # run()'s JSON text, sent as is
        assert value == {"rows": len(case.body["input_df"]), "cols": 29}, response.text

    @SETTINGS
    @given(case=ops["POST"].as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative(case: Any) -> None:
        response = call(
            tallies["negative"], case, auth
        )  # the right key: the invalid body reaches the schema check
        assert response.status_code < 500, (response.status_code, response.text[:300], case.body)

    @settings(SETTINGS, max_examples=30)
    @given(case=ops["POST"].as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative_auth(case: Any) -> None:
        response = call(
            tallies["negative auth"], case, None
        )  # its own (mostly wrong or missing) Authorization
        assert response.status_code < 500, (response.status_code, response.text[:300], case.body)

    @settings(SETTINGS, max_examples=20)
    @given(case=ops["GET"].as_strategy(generation_mode=GenerationMode.POSITIVE))
    def health(case: Any) -> None:
        response = call(tallies["health"], case, None)
        assert response.status_code == 200 and response.json() == "Healthy", response.text[:300]

    near_json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
        max_leaves=20,
    ).map(lambda v: json.dumps({"input_df": v}).encode())
    example_row = svc["swagger"]["definitions"]["ServiceInput"]["example"]["input_df"][0]
    mutated_rows = st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                col: st.none()
                | st.integers()
                | st.floats()
                | st.text(max_size=8)
                | st.booleans()
                | st.just(val)
                for col, val in example_row.items()
            },
        ),
        max_size=3,
    ).map(lambda rows: json.dumps({"input_df": rows}).encode())

    @SETTINGS
    @given(body=st.binary(max_size=512) | near_json | mutated_rows)
    def raw_body(body: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", svc["port"], timeout=10)
        try:
            conn.request(
                "POST", svc["score_path"], body=body, headers={**auth, "Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            tallies["raw body"].record(
                resp.status, body, text, resp.getheader("x-ms-run-function-failed") is not None
            )
        finally:
            conn.close()
        assert resp.status < 500, (resp.status, text[:300], body[:300])

    replica_before = _replicas(svc)
    positive()
    negative()
    negative_auth()
    health()
    raw_body()
    _raw_protocol(svc, tallies["raw protocol"])

    report = "; ".join(
        f"{name}: {sum(t.statuses.values())} requests {dict(sorted(t.statuses.items()))}"
        for name, t in tallies.items()
    )
    print(f"\n[fuzz] {report}")
    errors = [e for t in tallies.values() for e in t.server_errors]
    assert not errors, errors[:5]
    assert set(tallies["positive"].statuses) == {200}, tallies["positive"].statuses
    replica_after = _replicas(svc)
    assert replica_after == replica_before, (
        f"a replica died or restarted while fuzzing: {replica_before} -> {replica_after}"
    )


def _replicas(svc: dict[str, Any]) -> list[tuple[int, int, str]]:
    record = svc["engine"].service_record(svc["id"])
    return sorted((r["pid"], r["restarts"], r["state"]) for r in record["replicas"])


def _raw_protocol(svc: dict[str, Any], tally: Tally) -> None:
    """Garbage and broken HTTP on the socket: the answer (if any) is never 5xx and the service stays up."""
    path = svc["score_path"].encode()
    fixed = [
        b"\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n12345",
        b"POST " + path + b" HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        + bytes(range(64)),  # a TLS ClientHello (swagger says https)
        b"GET /" + b"A" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"X: " + b"B" * 70000 + b"\r\n\r\n",
    ]

    @settings(SETTINGS, max_examples=50)
    @given(blob=st.sampled_from(fixed) | st.binary(min_size=1, max_size=300))
    def garbage(blob: bytes) -> None:
        with socket.create_connection(("127.0.0.1", svc["port"]), timeout=3) as sock:
            try:
                sock.sendall(blob)
                sock.shutdown(socket.SHUT_WR)
                data = b""
                while len(data) < 65536:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (TimeoutError, ConnectionResetError, BrokenPipeError):
                data = b""
        if data.startswith(b"HTTP/"):
            status = int(data.split(b" ", 2)[1])
            tally.record(status, blob[:80], data[:300].decode("utf-8", "replace"))
            assert status < 500, (blob[:200], data[:300])
        else:
            tally.record(0, blob[:80], "")  # closed without an answer: acceptable for garbage

    garbage()
    # still serving, on the same connection model as a client
    conn = http.client.HTTPConnection("127.0.0.1", svc["port"], timeout=10)
    example = svc["swagger"]["definitions"]["ServiceInput"]["example"]
    conn.request(
        "POST",
        svc["score_path"],
        body=json.dumps(example),
        headers={"Authorization": f"Bearer {svc['key']}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    conn.close()
