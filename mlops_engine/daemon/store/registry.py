"""Models, manifests and images in state.db: versioned per (account, name), listed in creation order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Final, Literal, cast

from ..errors import ErrorInfo
from .codec import decode_assets, decode_error, decode_strings, encode_assets, encode_error, encode_strings
from .database import Database, Params, Row
from .records import Image, Manifest, Model, WorkState

_MODEL: Final = "id, account, name, version, tags, description, url, mime_type, unpack, created_at"
_MANIFEST: Final = (
    "id, account, name, version, description, driver_program, model_type, model_ids, assets, runtime_type, "
    "pip_requirements, conda_env_file, created_time"
)
_IMAGE: Final = (
    "id, account, name, version, description, compute_resource_id, created_time, state, manifest_id, error"
)
_ModelRow = tuple[str, str, str, int, str, str | None, str, str, int, str]
_ManifestRow = tuple[str, str, str, int, str | None, str, str, str, str, str, str | None, str | None, str]
_ImageRow = tuple[str, str, str, int, str | None, str | None, str, str, str, str | None]


def next_version(
    conn: sqlite3.Connection, table: Literal["models", "manifests", "images"], account: str, name: str
) -> int:
    """Previous max version for (account, name) + 1, answered from the (account, name, version) index."""
    row = conn.execute(
        f"SELECT MAX(version) FROM {table} WHERE account = ? AND name = ?", (account, name)
    ).fetchone()
    return int(row[0] or 0) + 1


def _model(row: Row, tag_lists: dict[str, tuple[str, ...]] | None = None) -> Model:
    """A model row; `tag_lists` memoizes decoded tags across the rows of one list (they repeat)."""
    mid, account, name, version, tags, description, url, mime, unpack, created = cast(_ModelRow, row)
    if tag_lists is None:
        decoded = decode_strings(tags)
    elif (decoded_or_none := tag_lists.get(tags)) is None:
        decoded = tag_lists[tags] = decode_strings(tags)
    else:
        decoded = decoded_or_none
    return Model(mid, account, name, version, decoded, description, url, mime, bool(unpack), created)


def insert_model(conn: sqlite3.Connection, m: Model) -> None:
    conn.execute(
        f"INSERT INTO models ({_MODEL}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (m.id, m.account, m.name, m.version, encode_strings(m.tags), m.description, m.url, m.mime_type,
         int(m.unpack), m.created_at),
    )  # fmt: skip


def get_model(db: Database, model_id: str, account: str | None = None) -> Model | None:
    row = db.one(*_by_id(_MODEL, "models", model_id, account))
    return _model(row) if row else None


def list_models(db: Database, account: str, name: str | None = None) -> list[Model]:
    if name is not None:
        rows = db.all(
            f"SELECT {_MODEL} FROM models WHERE account = ? AND name = ? ORDER BY version", (account, name)
        )
    else:
        rows = db.all(f"SELECT {_MODEL} FROM models WHERE account = ? ORDER BY seq", (account,))
    tag_lists: dict[str, tuple[str, ...]] = {}
    return [_model(r, tag_lists) for r in rows]


def model_ids(db: Database, account: str, name: str | None = None) -> list[str]:
    """The ids `list_models` would return, in the same order."""
    if name is not None:
        sql, params = "SELECT id FROM models WHERE account = ? AND name = ? ORDER BY version", (account, name)
        return [str(r[0]) for r in db.all(sql, params)]
    return [str(r[0]) for r in db.all("SELECT id FROM models WHERE account = ? ORDER BY seq", (account,))]


def models_by_id(db: Database, ids: Iterable[str]) -> list[Model]:
    """The models of `ids`, in that order (unknown ids are skipped)."""
    found = [get_model(db, mid) for mid in ids]
    return [m for m in found if m is not None]


def _manifest(row: Row) -> Manifest:
    (mid, account, name, version, description, driver, model_type, model_ids, assets, runtime, pip, conda,
     created) = cast(_ManifestRow, row)  # fmt: skip
    return Manifest(mid, account, name, version, description, driver, model_type, decode_strings(model_ids),
                    decode_assets(assets), runtime, pip, conda, created)  # fmt: skip


def insert_manifest(conn: sqlite3.Connection, m: Manifest) -> None:
    conn.execute(
        f"INSERT INTO manifests ({_MANIFEST}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (m.id, m.account, m.name, m.version, m.description, m.driver_program, m.model_type,
         encode_strings(m.model_ids), encode_assets(m.assets), m.runtime_type, m.pip_requirements,
         m.conda_env_file, m.created_time),
    )  # fmt: skip


def get_manifest(db: Database, manifest_id: str, account: str | None = None) -> Manifest | None:
    row = db.one(*_by_id(_MANIFEST, "manifests", manifest_id, account))
    return _manifest(row) if row else None


def list_manifests(db: Database, account: str) -> list[Manifest]:
    rows = db.all(f"SELECT {_MANIFEST} FROM manifests WHERE account = ? ORDER BY seq", (account,))
    return [_manifest(r) for r in rows]


def _image(row: Row) -> Image:
    iid, account, name, version, description, compute, created, state, manifest_id, error = cast(
        _ImageRow, row
    )
    return Image(iid, account, name, version, description, compute, created, cast(WorkState, state), manifest_id,
                 decode_error(error))  # fmt: skip


def insert_image(conn: sqlite3.Connection, i: Image) -> None:
    conn.execute(
        f"INSERT INTO images ({_IMAGE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (i.id, i.account, i.name, i.version, i.description, i.compute_resource_id, i.created_time, i.state,
         i.manifest_id, encode_error(i.error)),
    )  # fmt: skip


def get_image(db: Database, image_id: str, account: str | None = None) -> Image | None:
    row = db.one(*_by_id(_IMAGE, "images", image_id, account))
    return _image(row) if row else None


def list_images(db: Database, account: str) -> list[Image]:
    return [
        _image(r) for r in db.all(f"SELECT {_IMAGE} FROM images WHERE account = ? ORDER BY seq", (account,))
    ]


def unfinished_images(db: Database) -> list[Image]:
    rows = db.all(f"SELECT {_IMAGE} FROM images WHERE state IN ('NotStarted', 'Running') ORDER BY seq")
    return [_image(r) for r in rows]


def set_image_state(db: Database, image_id: str, state: WorkState, error: ErrorInfo | None = None) -> None:
    with db.tx() as conn:
        conn.execute(
            "UPDATE images SET state = ?, error = ? WHERE id = ?", (state, encode_error(error), image_id)
        )


def _by_id(columns: str, table: str, rid: str, account: str | None) -> tuple[str, Params]:
    if account is None:
        return f"SELECT {columns} FROM {table} WHERE id = ?", (rid,)
    return f"SELECT {columns} FROM {table} WHERE id = ? AND account = ?", (rid, account)
