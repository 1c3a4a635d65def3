"""Typed library errors, and the translation of SQLite failures into them.

Core code raises these; the CLI prints ``str(error)`` on one line and the UI shows it in a dialog.
Only failures a user can act on are translated (damaged file, read-only location, full disk, a busy
library, a newer schema). Everything else, such as an IntegrityError from a programming mistake,
propagates unchanged so that it is not disguised as a user problem.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

# Primary SQLite result codes (https://sqlite.org/rescode.html); extended codes keep them in the low byte.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


class LibraryError(Exception):
    """Base of every library failure; ``str()`` is a one-line reason meant for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class SchemaTooNewError(LibraryError):
    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"library.db was created by a newer mediaseek (schema v{found}, "
            f"this version understands up to v{supported})"
        )
        self.found = found
        self.supported = supported


class NotALibraryError(LibraryError):
    """A valid SQLite file that holds somebody else's tables: we refuse to write into it."""


class LibraryNotFoundError(LibraryError):
    """``Database.open(..., create=False)`` on a path with no library."""


class DatabaseCorruptError(LibraryError):
    """The file is not a SQLite database, or SQLite found it malformed."""


class LibraryReadOnlyError(LibraryError):
    """The database file or its folder cannot be written (permissions, read-only mount, immutable file)."""


class DiskFullError(LibraryError):
    """SQLite could not grow the database (disk full or a size limit)."""


class LibraryBusyError(LibraryError):
    """Another process held the write lock longer than the busy timeout."""


def _sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 exception behind ``exc`` (SQLAlchemy wraps it as ``.orig``), or None."""
    if isinstance(exc, sa_exc.DBAPIError) and isinstance(exc.orig, sqlite3.Error):
        return exc.orig
    if isinstance(exc, sqlite3.Error):
        return exc
    return None


def _primary_code(err: sqlite3.Error) -> int | None:
    code = getattr(err, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def translate_error(exc: BaseException) -> LibraryError | None:
    """The typed error for a SQLite failure, or None when ``exc`` is not one we translate."""
    err = _sqlite_error(exc)
    if err is None:
        return None
    code = _primary_code(err)
    message = str(err)
    lowered = message.lower()
    if code in (_SQLITE_NOTADB, _SQLITE_CORRUPT) or "not a database" in lowered or "malformed" in lowered:
        return DatabaseCorruptError(f"library.db is damaged or is not a database ({message})")
    if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN) or "readonly" in lowered:
        return LibraryReadOnlyError(f"the library is read-only ({message}); check the permissions of its folder")
    if code == _SQLITE_FULL or "disk is full" in lowered:
        return DiskFullError("the disk holding the library is full; committed data is intact")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in lowered:
        return LibraryBusyError("the library is busy: another mediaseek process kept it locked too long")
    if code == _SQLITE_IOERR:
        return LibraryError(f"disk I/O error while using library.db ({message})")
    return None


@contextmanager
def translate_db_errors() -> Iterator[None]:
    """Re-raise SQLite failures inside the block as typed ``LibraryError`` subclasses.

    Usable as ``with translate_db_errors():`` or as a decorator ``@translate_db_errors()``.
    """
    try:
        yield
    except LibraryError:
        raise
    except (sa_exc.DBAPIError, sqlite3.Error) as exc:
        typed = translate_error(exc)
        if typed is None:
            raise
        log.debug("translated %r into %r", exc, typed)
        raise typed from exc
