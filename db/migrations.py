"""Schema versions: a ladder on ``PRAGMA user_version``.

Each step is frozen DDL (never generated from the ORM models, which describe only the latest
schema) and runs in its own ``BEGIN IMMEDIATE`` transaction together with the version bump, so a
crash or a failure leaves the database at the previous version, intact. A database with a newer
version than we know is refused rather than guessed at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine

from db.errors import NotALibraryError, SchemaTooNewError

log = logging.getLogger(__name__)

Migration = Callable[[Connection], None]

_V1_DDL = (
    """
    CREATE TABLE roots (
        id INTEGER NOT NULL PRIMARY KEY,
        path BLOB NOT NULL UNIQUE,
        added_at FLOAT NOT NULL
    )
    """,
    """
    CREATE TABLE media (
        id INTEGER NOT NULL PRIMARY KEY,
        root_id INTEGER NOT NULL REFERENCES roots (id) ON DELETE CASCADE,
        path BLOB NOT NULL UNIQUE,
        kind VARCHAR(8) NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        fingerprint VARCHAR,
        status VARCHAR(8) NOT NULL DEFAULT 'pending',
        error TEXT,
        width INTEGER,
        height INTEGER,
        taken_at FLOAT,
        date FLOAT NOT NULL,
        gps_lat FLOAT,
        gps_lon FLOAT,
        camera_make TEXT,
        camera_model TEXT,
        duration FLOAT,
        indexed_at FLOAT,
        CONSTRAINT ck_media_kind CHECK (kind IN ('photo', 'video')),
        CONSTRAINT ck_media_status CHECK (status IN ('pending', 'indexed', 'failed'))
    )
    """,
    "CREATE INDEX ix_media_root_id ON media (root_id)",
    "CREATE INDEX ix_media_fingerprint ON media (fingerprint)",
    "CREATE INDEX ix_media_status ON media (status)",
    """
    CREATE TABLE models (
        id INTEGER NOT NULL PRIMARY KEY,
        name VARCHAR NOT NULL UNIQUE,
        embed_dim INTEGER NOT NULL,
        created_at FLOAT NOT NULL
    )
    """,
    """
    CREATE TABLE embeddings (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        media_id INTEGER NOT NULL REFERENCES media (id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        timestamp FLOAT,
        vector BLOB NOT NULL
    )
    """,
    "CREATE INDEX ix_embeddings_media_id ON embeddings (media_id)",
    "CREATE INDEX ix_embeddings_model_id_id ON embeddings (model_id, id)",
    """
    CREATE TABLE embedding_tombstones (
        seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        embedding_id INTEGER NOT NULL,
        model_id INTEGER NOT NULL
    )
    """,
    """
    CREATE TRIGGER embeddings_tombstone AFTER DELETE ON embeddings
    BEGIN
        INSERT INTO embedding_tombstones (embedding_id, model_id) VALUES (OLD.id, OLD.model_id);
    END
    """,
)


def _create_v1(conn: Connection) -> None:
    for statement in _V1_DDL:
        conn.exec_driver_sql(statement)


# v2: the text read in photos (issue 11). ``media_text`` holds one row per photo the text pass has
# read, tied to the media row's size and mtime at reading time (a mismatch means "read again");
# ``error`` is set when reading failed. ``media_text_fts`` indexes ``text`` with FTS5's trigram
# tokenizer: substring matching that needs no word segmentation, so CJK text (no spaces) is
# searchable like space-separated languages. It is an external-content table kept in step by
# triggers; deleting a media row cascades to ``media_text`` and the delete trigger clears the index.
_V2_DDL = (
    """
    CREATE TABLE media_text (
        media_id INTEGER NOT NULL PRIMARY KEY REFERENCES media (id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        read_at FLOAT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        lines TEXT NOT NULL DEFAULT '[]',
        error TEXT
    )
    """,
    """
    CREATE VIRTUAL TABLE media_text_fts USING fts5(
        text, content='media_text', content_rowid='media_id', tokenize='trigram case_sensitive 0'
    )
    """,
    """
    CREATE TRIGGER media_text_fts_insert AFTER INSERT ON media_text
    BEGIN
        INSERT INTO media_text_fts (rowid, text) VALUES (NEW.media_id, NEW.text);
    END
    """,
    """
    CREATE TRIGGER media_text_fts_delete AFTER DELETE ON media_text
    BEGIN
        INSERT INTO media_text_fts (media_text_fts, rowid, text) VALUES ('delete', OLD.media_id, OLD.text);
    END
    """,
    """
    CREATE TRIGGER media_text_fts_update AFTER UPDATE ON media_text
    BEGIN
        INSERT INTO media_text_fts (media_text_fts, rowid, text) VALUES ('delete', OLD.media_id, OLD.text);
        INSERT INTO media_text_fts (rowid, text) VALUES (NEW.media_id, NEW.text);
    END
    """,
)


def _add_text_v2(conn: Connection) -> None:
    for statement in _V2_DDL:
        conn.exec_driver_sql(statement)


# v3: browsing pages through a scope newest first (app/browse.py): an index on (date, id) keeps a
# page at any offset of a 100k library a range scan instead of a sort.
def _add_date_index_v3(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE INDEX ix_media_date_id ON media (date, id)")


MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _create_v1),
    (2, _add_text_v2),
    (3, _add_date_index_v3),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def user_version(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())


def _user_tables(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [row[0] for row in rows]


def migrate(engine: Engine, migrations: Sequence[tuple[int, Migration]] = MIGRATIONS) -> int:
    """Bring the database up to the newest version in ``migrations``; returns that version.

    Raises ``SchemaTooNewError`` for a database from a newer mediaseek and ``NotALibraryError`` for a
    non-empty database that is not ours (version 0 but already holding tables).
    """
    latest = migrations[-1][0] if migrations else 0
    with engine.connect() as conn:
        current = user_version(conn)
        conn.rollback()
    if current > latest:
        raise SchemaTooNewError(current, latest)
    for version, step in migrations:
        if version <= current:
            continue
        _apply(engine, version, step)
        current = version
    return current


def _apply(engine: Engine, version: int, step: Migration) -> None:
    with engine.connect() as conn:
        # pysqlite's legacy transaction handling does not BEGIN before DDL, so take the write lock
        # ourselves: DDL, data changes and the version bump then commit or roll back together.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            found = user_version(conn)
            if found >= version:  # another process migrated while we waited for the lock
                conn.rollback()
                return
            if found == 0 and version == 1:
                tables = _user_tables(conn)
                if tables:
                    raise NotALibraryError(
                        "library.db holds tables that are not a mediaseek library "
                        f"({', '.join(tables[:5])}); refusing to change it"
                    )
            log.info("migrating library schema v%d -> v%d", found, version)
            step(conn)
            conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
