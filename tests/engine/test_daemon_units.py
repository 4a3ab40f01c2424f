"""The daemon's parts in-process: error rendering, body limits, atomic writes, per-service locks, the
render cache, the supervisor seam, and the engine driven through its router (no subprocess)."""

from __future__ import annotations

import http.client
import io
import json
import stat
import threading
import time
from email.message import Message
from pathlib import Path

import pytest

from mlops_engine.daemon.__main__ import load_factory
from mlops_engine.daemon.app import Daemon, ensure_token
from mlops_engine.daemon.engine import Engine
from mlops_engine.daemon.errors import ApiError, ErrorInfo, render_error
from mlops_engine.daemon.rendercache import RenderCache
from mlops_engine.daemon.routes import resource_routes
from mlops_engine.daemon.server import EngineHTTPServer, Limits, Request, Router
from mlops_engine.daemon.store.files import atomic_file, write_atomic
from mlops_engine.daemon.work.locks import KeyedLocks
from mlops_engine.daemon.work.supervision import Supervisor, process_supervisor
from mlops_engine.paths import Paths

from .daemon_client import SCORE_OK, targz
from .daemon_fakes import FakeSupervisor


def test_render_error_is_the_documented_body():
    info = ErrorInfo(404, "NotFound", "Image not found")
    assert render_error(info) == b'{"code": "NotFound", "statusCode": 404, "message": "Image not found"}'
    err = ApiError(409, "Conflict", "x")
    assert (err.status, err.code, err.message, str(err)) == (409, "Conflict", "x", "x")
    assert ApiError.of(err.info).info == err.info


def test_atomic_writes(tmp_path: Path):
    tmp, target = tmp_path / "tmp", tmp_path / "out" / "file"
    tmp.mkdir()
    write_atomic(target, b"one", tmp, mode=0o600)
    assert target.read_bytes() == b"one" and stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(RuntimeError), atomic_file(tmp) as pending:
        pending.write(b"half")
        raise RuntimeError("crash before commit")
    assert target.read_bytes() == b"one" and list(tmp.iterdir()) == []
    with atomic_file(tmp) as pending:
        pending.write(b"never committed")
    assert list(tmp.iterdir()) == []


def test_token_is_private_and_stable(tmp_path: Path):
    paths = Paths(tmp_path / "home")
    paths.ensure()
    token = ensure_token(paths)
    assert len(token) == 64 and ensure_token(paths) == token
    assert stat.S_IMODE(paths.token_file.stat().st_mode) == 0o600
    assert list(paths.tmp.iterdir()) == []


def test_keyed_locks_serialize_and_are_forgotten():
    locks = KeyedLocks()
    order: list[str] = []

    def worker(tag: str) -> None:
        with locks.hold("svc"):
            order.append(tag + "-in")
            time.sleep(0.02)
            order.append(tag + "-out")

    threads = [threading.Thread(target=worker, args=(str(i),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(order[i].endswith("-in") and order[i + 1] == order[i][:-3] + "-out" for i in range(0, 8, 2))
    assert len(locks) == 0
    with locks.hold("a"), locks.hold("b"):
        assert len(locks) == 2
    assert len(locks) == 0


def test_render_cache_is_bounded():
    cache = RenderCache(max_entries=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get_many(["a"]) == {"a": "A"}  # a is now the most recent
    cache.put("c", "C")
    assert cache.get_many(["a", "b", "c"]) == {"a": "A", "c": "C"} and len(cache) == 2


def test_supervisor_seam(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    assert isinstance(load_factory("tests.engine.daemon_fakes:factory")(), Supervisor)
    assert isinstance(process_supervisor("python3")(), Supervisor)
    with pytest.raises(TypeError, match="not callable"):
        load_factory("json:__name__")
    with pytest.raises(TypeError, match="lacks start, deploy, set_keys, stop, status, shutdown"):
        Daemon(Paths(tmp_path / "home"), lambda: object())  # type: ignore[arg-type,return-value]


class _Server:
    """An EngineHTTPServer on 127.0.0.1 in a thread, with chosen limits."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.server = EngineHTTPServer(("127.0.0.1", 0), Router(resource_routes(engine)), "t" * 64, limits)
        engine.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def send(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=10)
        try:
            conn.request(method, path, body=body, headers={"Authorization": "Bearer " + "t" * 64})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def engine(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    paths = Paths(tmp_path / "home")
    paths.ensure()
    eng = Engine.open(paths, FakeSupervisor())
    try:
        yield eng
    finally:
        eng.workers.shutdown(wait=True)


def test_body_limits_are_per_server(engine: Engine):
    server = _Server(engine, Limits(max_json_body=64, max_artifact=16))
    try:
        status, body = server.send(
            "PUT", f"/subscriptions/{engine.subscription_id}/resourceGroups/rg", b" " * 65
        )
        assert (status, body) == (
            413,
            b'{"code": "PayloadTooLarge", "statusCode": 413, "message": "Request body larger than 64 bytes."}',
        )
        assert server.send("POST", "/artifacts", b"x" * 17)[0] == 413
        status, body = server.send("POST", "/artifacts", b"x" * 16)
        assert status == 201 and json.loads(body)["size"] == 16
    finally:
        server.close()


class InProcess:
    """Requests dispatched straight to the engine's router (no socket, no subprocess)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.router = Router(resource_routes(engine))
        sub = engine.subscription_id
        self.arm = f"/subscriptions/{sub}/resourceGroups/rg1/providers"
        self.mms = f"/api/subscriptions/{sub}/resourceGroups/rg1/accounts/acct"

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict, dict[str, str]]:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = Message()
        headers["Content-Length"] = str(len(raw))
        request = Request(method, path, {}, headers, io.BytesIO(raw), Limits())
        try:
            response = self.router.dispatch(request)
        except ApiError as err:
            return err.status, {"message": err.message}, {}
        payload = response.payload()
        return response.status, json.loads(payload) if payload else {}, dict(response.headers)

    def until(self, path: str, done, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status, value, _ = self.call("GET", path)
            if status == 200 and done(value):
                return value
            assert time.monotonic() < deadline, value
            time.sleep(0.02)

    def operation(self, headers: dict[str, str]) -> dict:
        op_id = headers["Operation-Location"].rsplit("/", 1)[1]
        return self.until(f"{self.mms}/operations/{op_id}", lambda op: op["state"] in ("Succeeded", "Failed"))


def test_engine_through_its_router_leaves_no_service_lock(engine: Engine):
    """Create, update, regenerate keys and delete a service: the per-service lock is forgotten after."""
    api = InProcess(engine)
    accounts = f"{api.arm}/Microsoft.MachineLearningModelManagement/accounts/acct"
    envs = f"{api.arm}/Microsoft.MachineLearningCompute/operationalizationClusters"
    assert api.call("PUT", accounts, {"location": "eastus2"})[0] == 201
    env = {"location": "eastus2", "properties": {"clusterType": "ACS", "containerService": {"agentCount": 1}}}
    assert api.call("PUT", f"{envs}/env1", env)[0] == 201
    api.until(f"{envs}/env1", lambda e: e["properties"]["provisioningState"] == "Succeeded")
    url = engine.artifacts.put_bytes
    model = api.call(
        "POST", f"{api.mms}/models", {"name": "m", "url": url(targz({"model.pkl": b"M"})), "unpack": True}
    )[1]
    manifest = {
        "name": "man",
        "modelIds": [model["id"]],
        "assets": [
            {"id": "driver", "url": url(b"import score  # score.py\n")},
            {"id": "dep", "url": url(targz({"score.py": SCORE_OK})), "unpack": True},
        ],
        "targetRuntime": {"runtimeType": "Python", "properties": {}},
    }
    manifest_id = api.call("POST", f"{api.mms}/manifests", manifest)[1]["id"]
    status, _, headers = api.call("POST", f"{api.mms}/images", {"name": "img", "manifestId": manifest_id})
    assert status == 202 and api.operation(headers)["state"] == "Succeeded"
    image_id = api.call("GET", f"{api.mms}/images")[1]["value"][0]["id"]
    compute = {"id": f"{envs}/env1", "type": "Cluster"}
    body = {"name": "svc", "imageId": image_id, "computeResource": compute}
    op = api.operation(api.call("POST", f"{api.mms}/services", body)[2])
    assert op["state"] == "Succeeded", op
    sid = op["resourceLocation"].rsplit("/", 1)[1]
    assert (
        api.operation(api.call("PUT", f"{api.mms}/services/{sid}", {"numReplicas": 2})[2])["state"]
        == "Succeeded"
    )
    assert api.call("GET", f"{api.mms}/services/{sid}")[1]["numReplicas"] == 2
    assert api.call("POST", f"{api.mms}/services/{sid}/regenerateKeys", {"keyType": "Primary"})[0] == 200
    assert api.call("DELETE", f"{api.mms}/services/{sid}")[0] == 200
    assert api.call("GET", f"{api.mms}/services/{sid}")[0] == 404
    assert len(engine.service_locks) == 0
