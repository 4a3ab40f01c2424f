"""Where the local engine keeps everything: one home directory, `MLOPS_HOME` (default ~/.mlops).

Layout (see docs/engine-api.md):
  daemon/        daemon.json (pid, port), token (0600), daemon.lock, daemon.log
  state.db       SQLite (WAL) with accounts, environments, models, manifests, images,
                 services, operations
  artifacts/     content-addressed store: artifacts/sha256/<2 hex>/<64 hex>
  images/<id>/   immutable image bundles (see replica contract)
  services/<id>/ replica logs
  cli/           client-side profile (current account / environment), like ~/.azure
  journal.db     the orchestrator's journal
  tmp/           staging for atomic writes (same filesystem as the store)
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "MLOPS_HOME"


def home_dir() -> Path:
    """The engine home: $MLOPS_HOME if set, else ~/.mlops."""
    value = os.environ.get(ENV_VAR)
    if value:
        return Path(value).expanduser().resolve()
    return Path.home() / ".mlops"


@dataclass(frozen=True)
class Paths:
    """Every path of one engine home."""

    home: Path

    @classmethod
    def default(cls) -> Paths:
        return cls(home_dir())

    @property
    def daemon_dir(self) -> Path:
        return self.home / "daemon"

    @property
    def daemon_info(self) -> Path:
        return self.daemon_dir / "daemon.json"

    @property
    def token_file(self) -> Path:
        return self.daemon_dir / "token"

    @property
    def daemon_lock(self) -> Path:
        return self.daemon_dir / "daemon.lock"

    @property
    def daemon_log(self) -> Path:
        return self.daemon_dir / "daemon.log"

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def services(self) -> Path:
        return self.home / "services"

    @property
    def environments(self) -> Path:
        return self.home / "environments"

    @property
    def cli_dir(self) -> Path:
        return self.home / "cli"

    @property
    def journal_db(self) -> Path:
        return self.home / "journal.db"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    def ensure(self) -> None:
        """Create the directory tree, private: 0700 directories (the home holds a token and service keys).

        An engine running as root lets the replica group traverse the home and images/ (0710, see
        serving/isolation.py); that group bit is kept, anything else for group or others is taken away.
        """
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(self.home.stat().st_mode)
        if mode & 0o067:
            os.chmod(self.home, mode & 0o710)
        for d in (self.daemon_dir, self.artifacts, self.images, self.services, self.cli_dir, self.tmp):
            d.mkdir(mode=0o700, exist_ok=True)
