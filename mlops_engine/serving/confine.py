"""Applying a `Confinement` (serving/isolation.py) inside the replica, before any user code is imported.

Why here and not in the spawn: the daemon is multi-threaded, and code between fork and exec must not take
locks; the replica is single-threaded at its start, so it sets itself up (namespaces, mounts, credentials)
with plain system calls through ctypes, then goes on as its own, unprivileged self. Any failure stops the
replica (init_failed): user code never runs with more rights than the plan gives it.

The view of the file system (user mode, as root): what the replica must read keeps its path, i.e. the bundle,
the home (whose own permissions then refuse the token and state.db), the interpreter's prefixes and
sys.path, and this package. When a parent directory of one of them is not searchable by the replica's uid
(/root, a 0700 temp dir), that parent is covered, in the replica's private mount namespace only, by a small
read-only tmpfs holding just the directory chain down to it, where the real directory is bind-mounted back.
In userns mode the home itself is covered that way, with only the paths below it that must stay readable.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from .isolation import Confinement

CLONE_NEWNS: Final = 0x00020000
CLONE_NEWUSER: Final = 0x10000000
MS_RDONLY: Final = 1
MS_NOSUID: Final = 2
MS_NODEV: Final = 4
MS_REMOUNT: Final = 32
MS_BIND: Final = 4096
MS_REC: Final = 16384
MS_PRIVATE: Final = 1 << 18
PR_SET_DUMPABLE: Final = 4
PR_CAPBSET_DROP: Final = 24
PR_SET_NO_NEW_PRIVS: Final = 38
_LINUX_CAPABILITY_VERSION_3: Final = 0x20080522


ENGINE_DIR: Final = Path(__file__).resolve().parents[1]  # mlops_engine/, imported from after the drop


class ConfinementError(Exception):
    """The plan could not be applied; the message says what to do."""


_libc = ctypes.CDLL(None, use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    _call(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _allowed(st: os.stat_result, uid: int, gid: int, want: int) -> bool:
    """Whether (uid, gid) has the `want` bits (a mask of the "other" triplet, e.g. 0o5 = r-x) on a file."""
    if st.st_uid == uid:
        return st.st_mode >> 6 & want == want
    if st.st_gid == gid:
        return st.st_mode >> 3 & want == want
    return st.st_mode & want == want


def _searchable(st: os.stat_result, uid: int, gid: int) -> bool:
    return _allowed(st, uid, gid, 0o1)


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def needed_paths(bundle: Path, home: Path | None) -> list[Path]:
    """What the replica reads after the drop: bundle, home, interpreter prefixes, sys.path, this package."""
    candidates: Iterable[str | Path] = (
        bundle, *([home] if home else []), sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path, ENGINE_DIR,
    )  # fmt: skip
    found: list[Path] = []
    for c in candidates:
        if not c:
            continue
        path = Path(c).resolve()
        if path.exists() and path not in found:
            found.append(path)
    return found


def _outermost(paths: list[Path]) -> list[Path]:
    """Drop the paths inside another one: a bind mount brings everything below it."""
    return [p for p in paths if not any(q != p and _under(p, q) for q in paths)]


def blocked_ancestors(paths: list[Path], uid: int, gid: int) -> list[Path]:
    """For each path, its topmost ancestor the replica cannot search (outermost ones only)."""
    covers: list[Path] = []
    for path in paths:
        for ancestor in reversed(path.parents):  # from / down
            if ancestor == Path("/"):
                continue
            if not _searchable(ancestor.stat(), uid, gid):
                covers.append(ancestor)
                break
    unique = sorted(set(covers), key=lambda p: len(p.parts))
    return [c for c in unique if not any(o != c and _under(c, o) for o in unique)]


def _make(path: Path, directory: bool) -> None:
    """A mount point in the cover, 0755 whatever the umask (the daemon's is 077); one made already is kept."""
    try:
        if directory:
            path.mkdir()
        else:
            path.touch(exist_ok=False)
    except FileExistsError:
        return
    os.chmod(path, 0o755 if directory else 0o444)


def _cover(cover: Path, keep: list[Path]) -> None:
    """A read-only tmpfs on `cover` holding the directory chains to `keep`, each bind-mounted back."""
    handles = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in keep}  # before the tmpfs hides them
    try:
        _mount("tmpfs", str(cover), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k,nr_inodes=1024")
        for path, fd in handles.items():
            for parent in reversed(path.relative_to(cover).parents):
                _make(cover / parent, directory=True)
            _make(path, directory=stat.S_ISDIR(os.fstat(fd).st_mode))
            _mount(f"/proc/self/fd/{fd}", str(path), None, MS_BIND | MS_REC)
        _mount(None, str(cover), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for fd in handles.values():
            os.close(fd)


def _private_mounts() -> None:
    _call(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def _as_user(plan: Confinement, bundle: Path) -> None:
    home = Path(plan.home)
    needed = needed_paths(bundle, home if home.exists() else None)
    closed = [p for p in needed if p != home and not _allowed(p.stat(), plan.uid, plan.gid, 0o5 if p.is_dir() else 0o4)]
    required = {bundle, ENGINE_DIR, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    fatal = [p for p in closed if p in required]  # another sys.path entry it cannot read is simply not revealed
    needed = [p for p in needed if p not in closed]
    if fatal:
        shown = ", ".join(f"{p} ({oct(stat.S_IMODE(p.stat().st_mode))})" for p in fatal)
        raise ConfinementError(
            f"the replica user (uid {plan.uid}) cannot read {shown}. Make the serving interpreter and the engine "
            "readable by all users (e.g. chmod -R a+rX on them), or set MLOPS_REPLICA_ISOLATION=off."
        )
    covers = blocked_ancestors(needed, plan.uid, plan.gid)
    if covers:
        try:
            _private_mounts()
        except OSError as exc:
            shown = ", ".join(map(str, covers))
            raise ConfinementError(
                f"the replica user (uid {plan.uid}) cannot reach {shown}, and no private mount namespace is "
                f"available to make them reachable ({exc}). Put MLOPS_HOME and the serving interpreter where "
                "every user can traverse the parent directories, or set MLOPS_REPLICA_ISOLATION=off."
            ) from exc
        for cover in covers:
            _cover(cover, _outermost([p for p in needed if _under(p, cover) and p != cover]))
    os.chdir("/")  # a working directory inside the home would stay a way in
    os.setgroups([])
    os.setresgid(plan.gid, plan.gid, plan.gid)
    os.setresuid(plan.uid, plan.uid, plan.uid)  # every capability is gone with uid 0
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _call(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(DUMPABLE)")  # /proc/self stays ours


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such cap
            _call(-1, f"prctl(CAPBSET_DROP, {cap})")
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _call(_libc.capset(ctypes.byref(header), data), "capset")
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def _in_userns(plan: Confinement, bundle: Path) -> None:
    home = Path(plan.home).resolve()
    uid, gid = os.getuid(), os.getgid()
    _call(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare(CLONE_NEWUSER|CLONE_NEWNS)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if home.is_dir():
        keep = _outermost([p for p in needed_paths(bundle, None) if _under(p, home) and p != home])
        _cover(home, keep)
    os.chdir("/")
    _drop_capabilities()


def apply(plan: Confinement, bundle: Path) -> str:
    """Confine this process as planned; returns a line for the replica log. ConfinementError if it cannot."""
    bundle = bundle.resolve()
    try:
        if plan.mode == "user":
            _as_user(plan, bundle)
        elif plan.mode == "userns":
            _in_userns(plan, bundle)
    except OSError as exc:
        raise ConfinementError(
            f"could not confine the replica ({plan.mode} mode): {exc}. Set MLOPS_REPLICA_ISOLATION=off to run "
            "replicas with the daemon's rights (not recommended)."
        ) from exc
    return f"isolation: {plan.describe()}"
