"""File system paths as exact bytes in SQLite.

File names on Linux are bytes and need not be valid UTF-8. Python represents such names as ``str``
with surrogate escapes, which SQLite's TEXT type cannot store. ``FsPath`` stores ``os.fsencode(path)``
in a BLOB and hands back ``os.fsdecode(...)``, so every name round-trips exactly, and BLOBs compare
bytewise (memcmp), which makes "everything inside this folder" an indexed range scan.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, and_
from sqlalchemy.types import TypeDecorator

StrPath = str | os.PathLike[str]


class FsPath(TypeDecorator[str]):
    """A path column: ``str`` (or ``os.PathLike``) in Python, the file system's bytes in SQLite."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return os.fsencode(value)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return os.fsdecode(bytes(value))


def _separators() -> bytes:
    seps = os.sep + (os.altsep or "")
    return os.fsencode(seps)


def prefix_range(folder: StrPath | bytes) -> tuple[bytes, bytes]:
    """Half-open byte range ``[lo, hi)`` holding every path strictly inside ``folder``.

    ``lo`` is the folder plus a trailing separator, so ``/a/b`` selects ``/a/b/x`` and
    ``/a/b/c/y`` but not ``/a/bc``; ``hi`` is ``lo`` with its last byte (the separator) incremented,
    which is the first byte string greater than every string starting with ``lo``.
    """
    raw = os.fsencode(folder)
    seps = _separators()
    stripped = raw.rstrip(seps)
    lo = stripped + os.fsencode(os.sep)
    hi = lo[:-1] + bytes([lo[-1] + 1])
    return lo, hi


def inside_folder(column: Any, folder: StrPath | bytes) -> ColumnElement[bool]:
    """SQL condition: ``column`` (an FsPath column) lies inside ``folder`` (at any depth)."""
    lo, hi = prefix_range(folder)
    return and_(column >= lo, column < hi)
