"""How a replica is kept away from the control plane: decided here, once per spawn (issue 13, item 6).

Why this shape: a score.py is the user's code, and it used to run with the daemon's rights, so it could read
the daemon token (and so drive every service), state.db and its WAL (every service's keys). The spawn asks
`plan()` for a `Confinement`, passes it to the replica on its command line (`--confine`), and the replica
applies it (serving/confine.py) before it loads the bundle, i.e. before any user code runs:

* the engine runs as root (this machine, CI): the replica drops to a uid of its own service (`replica_ids`,
  derived from the home and the service id: no /etc/passwd entry, stable across daemon restarts, two
  services never share one unless 24 bits of sha256 collide) with the home's replica group as its only group.
  The home and `images/` are 0710 root:<replica group> (traverse, no listing), bundles read-only, everything
  else 0600/0700 root: the token, state.db and its WAL answer EACCES. A private mount namespace makes the
  bundle and the interpreter reachable when a parent directory is not (e.g. /root, a 0700 temp dir);
* the engine runs as a user and the kernel allows user namespaces: same uid, but the replica's mount
  namespace hides the home behind an empty tmpfs, with only its bundle (and interpreter paths inside the home)
  bound back, then every capability is dropped;
* neither: nothing can be done at this level (docs/own-model.md says what is left); the replica logs it.

`MLOPS_REPLICA_ISOLATION=off` turns it off (debugging; the replica then runs with the daemon's rights).
Batch workers (mlops_engine.batch) and per-image environments call `plan` / `share_with_replicas` as well.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal, TypeAlias, cast

log = logging.getLogger(__name__)

ENV_VAR: Final = "MLOPS_REPLICA_ISOLATION"
ID_BASE: Final = 0x40000000  # above the usual system, user and subordinate-id ranges
ID_SPAN: Final = 1 << 24
Mode: TypeAlias = Literal["user", "userns", "none"]
SHARED_DIRS: Final = ("images",)
"""Directories of the home that replicas walk through (0710 root:<replica group>); what they hold must be
readable by the group (bundles are 0555/0444; a per-image environment directory goes here too, its trees
made readable with `share_with_replicas`)."""


@dataclass(frozen=True)
class Confinement:
    """What the replica does to itself before loading user code."""

    mode: Mode
    home: str  # the engine home (hidden in userns mode; its permissions speak in user mode)
    uid: int = -1  # user mode: the replica's uid and its only gid
    gid: int = -1
    reason: str = ""  # why this mode (logged by the daemon and the replica)

    def argv(self) -> list[str]:
        return ["--confine", json.dumps(asdict(self), separators=(",", ":"))]

    @classmethod
    def parse(cls, text: str) -> Confinement:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("mode") not in ("user", "userns", "none"):
            raise ValueError(f"not a confinement: {text[:80]!r}")
        mode = cast(Mode, data["mode"])
        return cls(mode, str(data["home"]), int(data["uid"]), int(data["gid"]), str(data["reason"]))

    def describe(self) -> str:
        if self.mode == "user":
            return f"uid {self.uid}, gid {self.gid} (own user, no access to the daemon token or state.db)"
        if self.mode == "userns":
            return "private user and mount namespace (the engine home is hidden)"
        return f"none ({self.reason})"


def _id(*parts: str) -> int:
    import hashlib  # the daemon's side only: the replica imports this module to read its --confine

    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return ID_BASE + int.from_bytes(digest[:3], "big")


def replica_group(home: Path) -> int:
    """The gid every replica of `home` runs with; the home and images/ are group-traversable by it."""
    return _id("mlops-replicas", str(home))


def replica_ids(home: Path, service_id: str) -> tuple[int, int]:
    """(uid, gid) of the replicas of one service when the engine runs as root."""
    return _id("mlops-replica", str(home), service_id), replica_group(home)


@cache
def _userns_works() -> bool:
    """Can this (non-root) user create a user + mount namespace? Probed once in a child process."""
    import subprocess

    probe = (
        "import ctypes,sys;libc=ctypes.CDLL(None,use_errno=True);"
        "sys.exit(0 if libc.unshare(0x10000000|0x00020000)==0 else 1)"
    )
    try:
        return subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def plan(service_id: str, home: Path) -> Confinement:
    """The confinement of a replica of `service_id` whose engine home is `home`."""
    setting = os.environ.get(ENV_VAR, "auto").strip().lower()
    if setting in ("off", "0", "false", "no"):
        return Confinement("none", str(home), reason=f"disabled by {ENV_VAR}={setting}")
    if os.geteuid() == 0:
        uid, gid = replica_ids(home, service_id)
        return Confinement("user", str(home), uid, gid, "the engine runs as root")
    if _userns_works():
        return Confinement("userns", str(home), reason="the engine runs as a user; user namespaces are allowed")
    return Confinement(
        "none", str(home), reason="the engine runs as a user and this kernel does not allow user namespaces"
    )


def prepare_home(home: Path) -> None:
    """As root: the home and its SHARED_DIRS are 0710 root:<replica group>, so a replica can walk to its
    bundle but list nothing and open nothing else; every other entry of the home loses any right of group
    and others (a safety net: each writer creates them private). Not root: nothing to do."""
    if os.geteuid() != 0:
        return
    group = replica_group(home)
    shared = [home / name for name in SHARED_DIRS]
    for path in (home, *shared):
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, 0, group)
        os.chmod(path, 0o710)
    for entry in home.iterdir():
        st = entry.lstat()
        if entry not in shared and not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
            os.chmod(entry, stat.S_IMODE(st.st_mode) & 0o700)


def share_with_replicas(root: Path, home: Path) -> None:
    """Make a tree the daemon built readable by the replicas (a per-image environment, say): group = the
    replica group, group r-x on directories and executables, r on files. A no-op unless root."""
    if os.geteuid() != 0:
        return
    group = replica_group(home)
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            _share(Path(dirpath, name), group)
    _share(root, group)


def _share(path: Path, group: int) -> None:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return
    os.chown(path, st.st_uid, group)
    mode = stat.S_IMODE(st.st_mode)
    readable = stat.S_IRGRP | (stat.S_IXGRP if stat.S_ISDIR(st.st_mode) or mode & stat.S_IXUSR else 0)
    os.chmod(path, mode | readable)


__all__ = ["Confinement", "plan", "prepare_home", "replica_group", "replica_ids", "share_with_replicas"]
