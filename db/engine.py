"""Opening a library database: one engine, per-connection pragmas, short sessions.

Two processes (the desktop app and a CLI run) may use one library at once. WAL lets readers run
while one writer commits; ``busy_timeout`` makes a second writer wait for the lock instead of
failing at once. We keep pysqlite's default transaction handling, which begins a transaction at the
first INSERT/UPDATE/DELETE: a session's reads never hold a snapshot that would later have to be
upgraded to a write lock (an upgrade that WAL refuses without waiting once another writer has
committed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from db.errors import LibraryNotFoundError, LibraryReadOnlyError, translate_db_errors
from db.migrations import migrate

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_S = 30.0


class Database:
    """A library database file. Create with ``Database.open``; close when done."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> Database:
        """Open (and migrate) the library at ``path``, creating it unless ``create`` is False.

        Raises a ``LibraryError`` subclass for anything the user must fix: no library, a damaged
        file, a read-only location, a full disk, a schema from a newer version.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise LibraryNotFoundError(f"no library at {path}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryReadOnlyError(f"cannot create the library folder {path.parent}: {exc.strerror}") from exc
        engine = _create_engine(path, busy_timeout_s)
        try:
            with translate_db_errors():
                migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        log.debug("opened library %s", path)
        return cls(path, engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short-lived ORM session: commits when the block succeeds, rolls back when it raises."""
        with translate_db_errors(), self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"


def _create_engine(path: Path, busy_timeout_s: float) -> Engine:
    url = URL.create("sqlite+pysqlite", database=os.fspath(path))
    # The pool hands each thread its own connection; check_same_thread=False lets a connection
    # returned to the pool be reused by another thread (never two at once).
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_s})
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                # A read-only file that was never in WAL mode: reads still work, writes fail later.
                log.warning("library %s stays in journal mode %s", path, mode)
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return engine
