"""Scoring replica: real processes on real 127.0.0.1 sockets, driven through the control protocol."""

from __future__ import annotations

import json
import re
import time

import pytest

from mlops_engine.serving.messages import Drain, InitFailed, Keys, Ready, Serve

from .replica_support import PANDAS_SCHEMA, ROW, TRIVIAL, Replica, make_bundle, raw_exchange, request

ECHO = """
import json
def init():
    global calls
    calls = 0
def run(raw):
    global calls
    calls += 1
    if raw == "boom":
        raise ValueError("boom")
    if raw == "numpy":
        import numpy
        return {"a": numpy.arange(3), "b": numpy.float64(1.5)}
    return raw
"""

RECORDS = """
import sys
MLOPS_INPUT = "records"
def init():
    pass
def run(input_df):
    return {"rows": input_df, "pandas": "pandas" in sys.modules}
"""

DATAFRAME = """
def init():
    pass
def run(input_df):
    return {"type": type(input_df).__name__, "columns": list(input_df.columns), "n": len(input_df),
            "dtypes": [str(t) for t in input_df.dtypes]}
"""

MIXED_SCHEMA = {
    "input": {
        "vec": {
            "internal": "gANjZmFrZQ==",
            "type": 1,
            "swagger": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number", "format": "double"}},
                "example": [[1.0, 2.0]],
            },
        },
        "label": {"internal": "gANjZmFrZQ==", "type": 0, "swagger": {"type": "string", "example": "x"}},
    }
}
MIXED = """
def init():
    pass
def run(vec, label):
    return {"shape": list(vec.shape), "dtype": str(vec.dtype), "label": label}
"""


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("echo")
    r = Replica(make_bundle(tmp, ECHO), tmp).start()
    yield r
    r.close()


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("records")
    r = Replica(make_bundle(tmp, RECORDS, PANDAS_SCHEMA), tmp).start()
    yield r
    r.close()


@pytest.fixture(scope="module")
def dataframe(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("df")
    r = Replica(make_bundle(tmp, DATAFRAME, PANDAS_SCHEMA), tmp).start()
    yield r
    r.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    score_py = "import json\nMLOPS_INPUT = 'records'\ndef init():\n    pass\ndef run(input_df):\n    return json.dumps('0')\n"
    r = Replica(
        make_bundle(tmp, score_py, PANDAS_SCHEMA), tmp, mode="cluster", keys=("pk1", "sk2"), name="churn"
    ).start()
    yield r
    r.close()


def score(r, body, **kw):
    return request(r.port, "POST", "/score", body, **kw)


# health, swagger, plain scoring ------------------------------------------------------------------
def test_health_and_headers(echo):
    status, headers, body = request(echo.port, "GET", "/")
    assert (status, json.loads(body)) == (200, "Healthy")
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", headers["x-ms-request-id"]
    )
    _, headers, _ = request(echo.port, "GET", "/", headers={"x-request-id": "abc-123"})
    assert headers["x-ms-request-id"] == "abc-123"
    _, headers, _ = request(
        echo.port, "GET", "/", headers={"x-ms-request-id": "ms-1", "x-request-id": "other"}
    )
    assert headers["x-ms-request-id"] == "ms-1"


def test_ready_quickly(echo):
    assert echo.ready_s < 1.5  # includes interpreter start; the goal is <= 1 s on an idle machine


def test_swagger_without_schema(echo):
    status, _, body = request(echo.port, "GET", "/swagger.json")
    doc = json.loads(body)
    assert status == 200 and doc["swagger"] == "2.0"
    assert set(doc["paths"]) == {"/", "/score"}
    assert doc["definitions"]["ServiceInput"] == {"type": "object"}
    assert "required" not in doc["paths"]["/score"]["post"]["parameters"][0]  # run() gets the raw body, even empty
    assert doc["definitions"]["ErrorResponse"]["properties"]["status_code"]["type"] == "integer"


def test_score_raw_body_and_json_string_result_sent_as_is(echo):
    # run() got the raw body (no schema) and returned it: a str that is already JSON goes out unchanged
    status, headers, body = score(echo, '{"data": [[1, 2]]}')
    assert status == 200
    assert body == b'{"data": [[1, 2]]}'
    status, headers, body = score(echo, "not json")
    assert (status, json.loads(body)) == (200, "not json")  # other strings are JSON-encoded
    assert float(headers["x-ms-run-fn-exec-ms"]) >= 0


def test_numpy_results_are_converted(echo):
    status, _, body = score(echo, "numpy")
    assert (status, json.loads(body)) == (200, {"a": [0, 1, 2], "b": 1.5})


def test_run_exception_is_500_and_replica_stays_up(echo):
    status, _, body = score(echo, "boom")
    assert status == 500
    assert json.loads(body) == {"errorCode": 500, "message": "ValueError: boom"}
    assert score(echo, "after")[0] == 200
    assert echo.proc.poll() is None


def test_404_and_405(echo):
    status, _, body = request(echo.port, "GET", "/nope")
    assert status == 404 and json.loads(body)["errorCode"] == 404
    status, headers, _ = request(echo.port, "GET", "/score")
    assert status == 405 and headers["allow"] == "POST"
    status, headers, _ = request(echo.port, "POST", "/", "x")
    assert status == 405 and headers["allow"] == "GET"
    assert request(echo.port, "GET", "/api/v1/service/svc/score")[0] == 404


def test_413_content_length_and_chunked(echo):
    big = b"x" * (10 * 1024 * 1024 + 1)
    out = raw_exchange(echo.port, b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big))
    assert out.startswith(b"HTTP/1.1 413 ")
    chunk = b"x" * (1024 * 1024)
    data = b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(11)) + b"0\r\n\r\n"
    try:
        out = raw_exchange(echo.port, data)
    except (BrokenPipeError, ConnectionResetError):
        out = b"HTTP/1.1 413 (connection reset after the early answer)"
    assert out.startswith(b"HTTP/1.1 413 ")
    assert score(echo, "still up")[0] == 200


def test_large_body_within_limit(echo):
    body = "y" * (3 * 1024 * 1024)
    t0 = time.monotonic()
    status, _, out = score(echo, body)
    assert status == 200 and json.loads(out) == body
    assert time.monotonic() - t0 < 2


def test_keep_alive_pipelining_and_chunked(echo):
    one = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
    two = (
        b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ntw\r\n1\r\no\r\n0\r\n\r\n"
    )
    out = raw_exchange(echo.port, one + two + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", expect_responses=3)
    bodies = [part.split(b"\r\n\r\n", 1)[1][:20] for part in out.split(b"HTTP/1.1 ")[1:]]
    assert [b.split(b"HTTP")[0] for b in bodies] == [b'"one"', b'"two"', b'"Healthy"']
    assert b"Connection: close" not in out


def test_http10_closes_and_malformed_is_400(echo):
    out = raw_exchange(echo.port, b"GET / HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in out
    ka = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    out = raw_exchange(echo.port, ka + ka, expect_responses=2)
    assert out.count(b"Connection: keep-alive") == 2
    out = raw_exchange(echo.port, b"GARBAGE\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


def test_access_log(echo):
    request(echo.port, "GET", "/", headers={"x-request-id": "log-me-1"})
    pattern = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}, INFO, log-me-1, health, GET / 200 \d+\.\d{3} ms$",
        re.MULTILINE,
    )
    deadline = time.monotonic() + 3
    while not pattern.search(echo.out.read_text()):
        assert time.monotonic() < deadline, echo.out.read_text()[-500:]
        time.sleep(0.05)


# schema: validation, DataFrame and records paths -------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "Input failed JSON deserialization: "),
        (
            '"a string"',
            "Input request does not respect the schema defined by the service's swagger specification.",
        ),
        ('{"input_df": [], "extra": 1}', "Argument mismatch: Unexpected argument extra"),
        ("{}", "Argument mismatch: Missing argument(s) input_df"),
        ('{"input_df": {"age": 1}}', "Invalid input format: expected an array of items."),
        ('{"input_df": [{"age": 1, "charges": 2.0, "plan": "x"}]}', "row 0 is missing column 'active'"),
        (
            '{"input_df": [{"age": 1.5, "charges": 2.0, "plan": "x", "active": true}]}',
            "column 'age' in row 0 must be of type integer, got number",
        ),
        (
            '{"input_df": [{"age": 1, "charges": "2", "plan": "x", "active": true}]}',
            "column 'charges' in row 0",
        ),
        (
            '{"input_df": [{"age": 9223372036854775808, "charges": 2, "plan": "x", "active": true}]}',
            "column 'age' in row 0 is out of the range of its format",
        ),
        ('{"input_df": [{"age": true, "charges": 2, "plan": "x", "active": true}]}', "got boolean"),
    ],
)
def test_schema_400s(records, body, message):
    status, _, out = score(records, body)
    assert status == 400
    err = json.loads(out)
    assert err["errorCode"] == 400 and message in err["message"]


def test_records_fast_path(records):
    row = {"active": False, "extra": "dropped", "plan": "pro", "charges": 3, "age": 40}
    status, _, body = score(records, json.dumps({"input_df": [ROW, row]}))
    assert status == 200
    result = json.loads(body)
    assert result["pandas"] is False
    assert result["rows"] == [ROW, {"age": 40, "charges": 3, "plan": "pro", "active": False}]
    assert [list(r) for r in result["rows"]] == [["age", "charges", "plan", "active"]] * 2


def test_dataframe_path(dataframe):
    row = {"active": False, "extra": "dropped", "plan": "pro", "charges": 3.5, "age": 40}
    status, _, body = score(dataframe, json.dumps({"input_df": [ROW, row]}))
    assert status == 200, body
    result = json.loads(body)
    assert result["dtypes"][2] in ("object", "str")  # pandas 3 infers the string dtype
    result["dtypes"][2] = "object"
    assert result == {
        "type": "DataFrame",
        "columns": ["age", "charges", "plan", "active"],
        "n": 2,
        "dtypes": ["int64", "float64", "object", "bool"],
    }


def test_swagger_from_schema_local(dataframe):
    doc = json.loads(request(dataframe.port, "GET", "/swagger.json")[2])
    inp = doc["definitions"]["ServiceInput"]
    assert inp["example"] == {"input_df": PANDAS_SCHEMA["input"]["input_df"]["swagger"]["example"]}
    assert "example" not in inp["properties"]["input_df"]
    # the contract the replica enforces is stated, so clients generated from the swagger send valid requests:
    # every input and no other, every column in every row, integers within their format's range, a body
    assert inp["required"] == ["input_df"] and inp["additionalProperties"] is False
    items = inp["properties"]["input_df"]["items"]
    assert items["required"] == ["age", "charges", "plan", "active"]
    assert items["properties"]["age"] == {
        "type": "integer",
        "format": "int64",
        "minimum": -(2**63),
        "maximum": 2**63 - 1,
    }
    assert items["properties"]["charges"] == {"type": "number", "format": "double"}
    assert [p["required"] for p in doc["paths"]["/score"]["post"]["parameters"]] == [True]
    assert doc["definitions"]["ServiceOutput"] == {"type": "object"}


def test_numpy_and_standard_inputs(tmp_path):
    r = Replica(make_bundle(tmp_path, MIXED, MIXED_SCHEMA), tmp_path).start()
    try:
        status, _, body = score(r, json.dumps({"vec": [[1, 2], [3, 4], [5, 6]], "label": "y"}))
        assert (status, json.loads(body)) == (200, {"shape": [3, 2], "dtype": "float64", "label": "y"})
        status, _, body = score(r, json.dumps({"vec": [[1, 2, 3]], "label": "y"}))
        assert status == 400 and "Failed to deserialize vec" in json.loads(body)["message"]
        status, _, body = score(r, json.dumps({"vec": [[1, 2]], "label": 3}))
        assert status == 400 and "Failed to deserialize label" in json.loads(body)["message"]
    finally:
        r.close()


# cluster mode ------------------------------------------------------------------------------------
def test_cluster_paths_and_keys(cluster):
    path = "/api/v1/service/churn/score"
    body = json.dumps({"input_df": [ROW]})
    assert request(cluster.port, "POST", "/score", body, {"Authorization": "Bearer pk1"})[0] == 404
    status, _, out = request(cluster.port, "POST", path, body)
    assert status == 401 and json.loads(out)["errorCode"] == 401
    assert "pk1" not in out.decode() and "sk2" not in out.decode()
    assert request(cluster.port, "POST", path, body, {"Authorization": "Bearer wrong"})[0] == 401
    assert request(cluster.port, "POST", path, body, {"Authorization": "pk1"})[0] == 401
    for key in ("pk1", "sk2"):
        status, _, out = request(cluster.port, "POST", path, body, {"Authorization": f"Bearer {key}"})
        assert (status, out) == (200, b'"0"')
    assert request(cluster.port, "GET", "/")[0] == 200
    assert request(cluster.port, "GET", "/api/v1/service/churn/")[0] == 200
    doc = json.loads(request(cluster.port, "GET", "/api/v1/service/churn/swagger.json")[2])
    assert set(doc["paths"]) == {"/api/v1/service/churn/", "/api/v1/service/churn/score"}
    assert "securityDefinitions" in doc


def test_cluster_key_rotation(tmp_path):
    r = Replica(
        make_bundle(tmp_path, TRIVIAL), tmp_path, mode="cluster", keys=("a1", "b2"), name="svc"
    ).start()
    try:
        path = "/api/v1/service/svc/score"
        r.send(Keys(("c3", "b2")))
        deadline = time.monotonic() + 5
        while request(r.port, "POST", path, "x", {"Authorization": "Bearer a1"})[0] != 401:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert request(r.port, "POST", path, "x", {"Authorization": "Bearer c3"})[0] == 200
        assert "a1" not in r.out.read_text() + r.err.read_text()
    finally:
        r.close()


# lifecycle ---------------------------------------------------------------------------------------
def test_init_failure_reports_and_exits_3(tmp_path):
    bad = "def init():\n    raise RuntimeError('no model here')\ndef run(raw):\n    return raw\n"
    r = Replica(make_bundle(tmp_path, bad), tmp_path)
    try:
        event = r.wait_event()
        assert isinstance(event, InitFailed)
        assert "RuntimeError: no model here" in event.error
        assert r.proc.wait(timeout=10) == 3
        assert "Traceback" in r.err.read_text()
    finally:
        r.close()


class _RawStartReplica(Replica):
    """A replica whose first control line the test writes itself."""

    def __init__(self, bundle, log_dir, first_line: bytes) -> None:
        self._first = first_line
        super().__init__(bundle, log_dir)

    def send(self, command) -> None:
        if self._first is not None:  # replaces the Config the helper sends first
            line, self._first = self._first, None
            return self.send_raw(line)
        return super().send(command)


@pytest.mark.parametrize(
    ("first_line", "reason"),
    [
        (b'{"cmd": "serve"}\n', "no config received on stdin"),
        (b"garbage\n", "the first control line is not a config command: a line of 7 bytes that is not JSON"),
        (
            b'{"cmd": "config", "version": 99, "keys": null}\n',
            (
                "the supervisor speaks control protocol version 99 and this replica version 1: install the "
                "daemon's mlops version in the serving interpreter"
            ),
        ),
        (b"", "no config received on stdin"),  # EOF before any line
    ],
    ids=["not-config", "not-json", "other-version", "eof"],
)
def test_a_replica_without_a_usable_config_reports_why_and_exits_2(tmp_path, first_line, reason):
    r = _RawStartReplica(make_bundle(tmp_path, TRIVIAL), tmp_path, first_line)
    try:
        if not first_line:
            r.proc.stdin.close()
        event = r.wait_event()
        assert event == InitFailed(reason)
        assert r.proc.wait(timeout=10) == 2
    finally:
        r.close()


def test_unknown_or_malformed_control_lines_are_skipped(tmp_path):
    r = Replica(make_bundle(tmp_path, TRIVIAL), tmp_path).start()
    try:
        r.send_raw(b'{"cmd": "reboot"}\nnot json\n{"cmd": "keys", "keys": "one"}\n\n')
        assert request(r.port, "POST", "/score", "x")[2] == b'"0"'
        r.send(Drain(1))
        assert r.proc.wait(timeout=10) == 0
        err = r.err.read_text()
        assert "ignoring a control line: unknown cmd 'reboot'" in err
        assert "ignoring a control line: keys must be a list of two strings" in err
    finally:
        r.close()


def test_not_serving_before_serve_command(tmp_path):
    r = Replica(make_bundle(tmp_path, TRIVIAL), tmp_path)
    try:
        event = r.wait_event()
        assert isinstance(event, Ready)
        assert request(event.health_port, "GET", "/")[0] == 200
        import socket as _s

        with _s.create_connection(("127.0.0.1", r.port), timeout=0.3) as c:  # queued in the backlog only
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises(TimeoutError):
                c.recv(100)
            r.send(Serve())
            c.settimeout(5)
            assert c.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        r.close()


def test_drain_closes_keepalive_after_next_response(tmp_path):
    import http.client

    r = Replica(make_bundle(tmp_path, TRIVIAL), tmp_path).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=5)
        conn.request("POST", "/score", "a")
        assert conn.getresponse().read() == b'"0"'
        r.send(Drain(5))
        time.sleep(0.1)
        conn.request("POST", "/score", "b")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Connection") == "close"
        resp.read()
        assert r.proc.wait(timeout=5) == 0
    finally:
        r.close()


def test_drain_timeout_closes_idle_and_stdin_eof_exits(tmp_path):
    import socket as _s

    r = Replica(make_bundle(tmp_path, TRIVIAL), tmp_path).start()
    try:
        idle = _s.create_connection(("127.0.0.1", r.port))
        assert request(r.port, "GET", "/")[0] == 200  # the idle connection has been accepted by now
        t0 = time.monotonic()
        r.proc.stdin.close()  # the daemon died: drain (EOF timeout) and exit
        assert r.proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 8
        idle.settimeout(2)
        assert idle.recv(10) == b""
        idle.close()
    finally:
        r.close()


# the schema's own unit tests (every legacy type, bounds, columns) are in test_schema.py ---------------
def test_internal_pickle_is_never_loaded(tmp_path):
    import base64
    import os
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    schema = json.loads(json.dumps(PANDAS_SCHEMA))
    schema["input"]["input_df"]["internal"] = base64.b64encode(pickle.dumps(Evil())).decode()
    r = Replica(make_bundle(tmp_path, RECORDS, schema), tmp_path).start()
    try:
        assert score(r, json.dumps({"input_df": [ROW]}))[0] == 200
        assert not marker.exists()
    finally:
        r.close()
