"""Schema v2: the photo-text table, its FTS5 index, and how deletes and upgrades reach it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from db import MIGRATIONS, SCHEMA_VERSION, Database, migrate


def _add_photo(conn, media_id: int, path: bytes = b"/p/a.jpg") -> None:
    conn.exec_driver_sql("INSERT OR IGNORE INTO roots (id, path, added_at) VALUES (1, x'2f70', 0)")
    conn.exec_driver_sql(
        "INSERT INTO media (id, root_id, path, kind, size, mtime_ns, status, date) "
        "VALUES (?, 1, ?, 'photo', 10, 5, 'indexed', 0)", (media_id, path))


def _add_text(conn, media_id: int, text: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO media_text (media_id, size, mtime_ns, read_at, text) VALUES (?, 10, 5, 0, ?)",
        (media_id, text))


def _match(conn, query: str) -> list[int]:
    rows = conn.exec_driver_sql("SELECT rowid FROM media_text_fts WHERE media_text_fts MATCH ? ORDER BY rowid",
                                (query,))
    return [r[0] for r in rows]


def test_a_v1_library_upgrades_to_the_current_schema_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    engine = create_engine(f"sqlite:///{path}")
    assert migrate(engine, MIGRATIONS[:1]) == 1
    with engine.begin() as conn:
        _add_photo(conn, 1)
    engine.dispose()
    with Database.open(path) as db, db.engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM media").scalar_one() == 1
        _add_text(conn, 1, "GATE B42")
        assert _match(conn, '"b42"') == [1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "ix_media_date_id" in indexes  # v3: browsing newest first


def test_fts_finds_chinese_and_latin_substrings_case_insensitively(tmp_path: Path) -> None:
    with Database.open(tmp_path / "library.db") as db, db.engine.begin() as conn:
        _add_photo(conn, 1, b"/p/1.jpg")
        _add_photo(conn, 2, b"/p/2.jpg")
        _add_photo(conn, 3, b"/p/3.jpg")
        _add_text(conn, 1, "欢迎光临北京咖啡店\n营业时间 8:00")
        _add_text(conn, 2, "Hardware Store RECEIPT\nTotal 42.00")
        _add_text(conn, 3, "上海火车站")
        assert _match(conn, '"北京咖啡"') == [1]
        assert _match(conn, '"火车站"') == [3]
        assert _match(conn, '"receipt"') == [2]
        assert _match(conn, '"hardware store"') == [2]
        assert _match(conn, '"咖啡店" OR "火车站"') == [1, 3]


def test_updating_and_deleting_keep_the_index_in_step(tmp_path: Path) -> None:
    with Database.open(tmp_path / "library.db") as db:
        with db.engine.begin() as conn:
            _add_photo(conn, 1)
            _add_text(conn, 1, "old words here")
            conn.exec_driver_sql("UPDATE media_text SET text = 'new words here' WHERE media_id = 1")
            assert _match(conn, '"old"') == []
            assert _match(conn, '"new"') == [1]
        with db.engine.begin() as conn:  # deleting the media row cascades to its text and the index
            conn.exec_driver_sql("DELETE FROM media WHERE id = 1")
            assert conn.exec_driver_sql("SELECT count(*) FROM media_text").scalar_one() == 0
            assert _match(conn, '"new"') == []
            conn.exec_driver_sql("INSERT INTO media_text_fts (media_text_fts) VALUES ('integrity-check')")
