"""Schema ladder: fresh creation, agreement with the ORM models, refusals, atomic steps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, inspect

from db import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Base,
    Database,
    DatabaseCorruptError,
    NotALibraryError,
    SchemaTooNewError,
    migrate,
)


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return {row[0] for row in rows}


def test_fresh_database_is_created_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    Database.open(path).close()
    assert _user_version(path) == SCHEMA_VERSION == MIGRATIONS[-1][0]
    assert {t for t in _tables(path) if not t.startswith("media_text_fts")} == {
        "roots", "media", "models", "embeddings", "embedding_tombstones", "media_text"}
    assert "media_text_fts" in _tables(path)
    with sqlite3.connect(path) as conn:
        triggers = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == {"embeddings_tombstone", "media_text_fts_insert", "media_text_fts_delete",
                        "media_text_fts_update"}


def test_migrated_schema_matches_the_orm_models(tmp_path: Path) -> None:
    """The frozen DDL of the ladder and the ORM classes must describe the same tables."""
    path = tmp_path / "library.db"
    Database.open(path).close()
    inspector = inspect(create_engine(f"sqlite:///{path}"))
    # the FTS5 index and its shadow tables are SQLite's, not the ORM's
    assert {t for t in inspector.get_table_names() if not t.startswith("media_text_fts")} == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        assert set(columns) == {c.name for c in table.columns}, name
        for column in table.columns:
            assert columns[column.name]["nullable"] == (column.nullable and not column.primary_key), (name, column.name)
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(name)}
        indexed |= {tuple(uc["column_names"]) for uc in inspector.get_unique_constraints(name)}
        expected = {tuple(c.name for c in ix.columns) for ix in table.indexes}
        expected |= {(c.name,) for c in table.columns if c.unique}
        assert indexed == expected, name
        with sqlite3.connect(path) as conn:  # SQLAlchemy's reflection does not report ON DELETE of inline REFERENCES
            fks = {(row[3], row[2], row[6]) for row in conn.execute(f"PRAGMA foreign_key_list({name})")}
        assert fks == {(fk.parent.name, fk.column.table.name, fk.ondelete) for fk in table.foreign_keys}, name


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as db:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO roots (path, added_at) VALUES (x'2f61', 0)")
        assert migrate(db.engine) == SCHEMA_VERSION
    with Database.open(path) as db:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM roots").scalar() == 1


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    Database.open(path).close()
    newer = SCHEMA_VERSION + 5
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(SchemaTooNewError) as info:
        Database.open(path)
    assert str(info.value) == (
        f"library.db was created by a newer mediaseek (schema v{newer}, "
        f"this version understands up to v{SCHEMA_VERSION})"
    )
    assert _user_version(path) == newer


def test_a_file_that_is_not_sqlite_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    content = b"this is a text file, not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(DatabaseCorruptError) as info:
        Database.open(path)
    assert "not a database" in str(info.value)
    assert path.read_bytes() == content


def test_a_foreign_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    with pytest.raises(NotALibraryError) as info:
        Database.open(path)
    assert "invoices" in str(info.value)
    assert _tables(path) == {"invoices"}
    assert _user_version(path) == 0


def test_a_later_step_upgrades_an_existing_library_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as db:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO roots (path, added_at) VALUES (x'2f61', 0)")

        def add_label(conn: Connection) -> None:
            conn.exec_driver_sql("ALTER TABLE roots ADD COLUMN label TEXT")
            conn.exec_driver_sql("UPDATE roots SET label = 'home'")

        assert migrate(db.engine, [*MIGRATIONS, (SCHEMA_VERSION + 1, add_label)]) == SCHEMA_VERSION + 1
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT label FROM roots").all() == [("home",)]
    assert _user_version(path) == SCHEMA_VERSION + 1


def test_a_failing_step_rolls_back_completely(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as db:

        def half_done(conn: Connection) -> None:
            conn.exec_driver_sql("CREATE TABLE albums (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("ALTER TABLE roots ADD COLUMN label TEXT")
            raise RuntimeError("step failed half way")

        with pytest.raises(RuntimeError):
            migrate(db.engine, [*MIGRATIONS, (SCHEMA_VERSION + 1, half_done)])
    assert _user_version(path) == SCHEMA_VERSION
    assert "albums" not in _tables(path)
    with sqlite3.connect(path) as conn:
        assert "label" not in {row[1] for row in conn.execute("PRAGMA table_info(roots)")}
