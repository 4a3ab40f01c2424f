"""The daemon's shared context: paths, state, artifact store, supervisor, workers and per-service locks."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import __version__
from ..paths import Paths
from .errors import ApiError
from .rendercache import RenderCache
from .store import accounts
from .store.artifacts import ArtifactStore
from .store.database import Database
from .store.records import scope_key
from .work.locks import KeyedLocks
from .work.supervision import Supervisor


def serving_python() -> str:
    """The interpreter that runs replicas: $MLOPS_SERVING_PYTHON, else this one."""
    return os.environ.get("MLOPS_SERVING_PYTHON") or sys.executable


@dataclass(frozen=True)
class AccountScope:
    """The MMS account a request addresses, with the casing of its URL."""

    key: str
    sub: str
    rg: str
    name: str

    def base(self) -> str:
        return f"/api/subscriptions/{self.sub}/resourceGroups/{self.rg}/accounts/{self.name}"


@dataclass
class Engine:
    """Everything route handlers and workers share."""

    paths: Paths
    db: Database
    artifacts: ArtifactStore
    supervisor: Supervisor
    subscription_id: str
    python: str = field(default_factory=serving_python)
    version: str = __version__
    port: int = 0
    workers: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, "mlops-worker"))
    stopping: threading.Event = field(default_factory=threading.Event)
    service_locks: KeyedLocks = field(default_factory=KeyedLocks)
    model_texts: RenderCache = field(default_factory=RenderCache)

    @classmethod
    def open(cls, paths: Paths, supervisor: Supervisor) -> Engine:
        db = Database(paths.state_db)
        sub = db.meta("subscription_id", lambda: str(uuid.uuid4()))
        return cls(paths, db, ArtifactStore(paths), supervisor, sub)

    def check_sub(self, sub: str) -> None:
        if sub != self.subscription_id:
            raise ApiError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def account(self, sub: str, rg: str, name: str) -> AccountScope:
        """The account named by an MMS path (404 AccountNotFound if it does not exist)."""
        self.check_sub(sub)
        key = scope_key(rg, name)
        if not accounts.exists(self.db, key):
            raise ApiError(
                404, "AccountNotFound", f"Model management account {name} not found in resource group {rg}."
            )
        return AccountScope(key, sub, rg, name)

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
