"""The daemon's shared context: paths, state, artifact store, supervisor and worker pool."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..paths import Paths
from .common import ApiError
from .db import Database
from .store import ArtifactStore

if TYPE_CHECKING:
    from ..serving.api import Supervisor

SUB_PATTERN = r"/subscriptions/(?P<sub>[^/]+)"
RG_PATTERN = r"/(?i:resourceGroups)/(?P<rg>[^/]+)"
MMS_BASE = r"/api" + SUB_PATTERN + RG_PATTERN + r"/accounts/(?P<acct>[^/]+)"


def serving_python() -> str:
    """The interpreter that runs replicas: $MLOPS_SERVING_PYTHON, else this one."""
    return os.environ.get("MLOPS_SERVING_PYTHON") or sys.executable


@dataclass(frozen=True)
class Account:
    """The MMS account a request is scoped to."""

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
    store: ArtifactStore
    supervisor: Supervisor
    subscription_id: str
    version: str = __version__
    port: int = 0
    workers: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, "mlops-worker"))
    stopping: threading.Event = field(default_factory=threading.Event)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, paths: Paths, supervisor: Supervisor) -> Engine:
        db = Database(paths.state_db)
        sub = db.meta("subscription_id", lambda: uuid.uuid4())
        return cls(paths, db, ArtifactStore(paths), supervisor, sub)

    def check_sub(self, sub: str) -> None:
        if sub != self.subscription_id:
            raise ApiError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def account(self, params: dict[str, str]) -> Account:
        """The account named by an MMS path (404 AccountNotFound if it does not exist)."""
        self.check_sub(params["sub"])
        key = f"{params['rg'].lower()}/{params['acct'].lower()}"
        row = self.db.one("SELECT doc FROM accounts WHERE key = ?", (key,))
        if row is None:
            raise ApiError(
                404,
                "AccountNotFound",
                f"Model management account {params['acct']} not found in resource group {params['rg']}.",
            )
        return Account(key, params["sub"], params["rg"], params["acct"])

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
