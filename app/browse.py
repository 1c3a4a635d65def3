"""Browsing the library without a query: what is in a scope, newest first, in month buckets.

A scope is everything, a root or any folder (with or without its subfolders), optionally only
photos or videos and a date range. Pages are read straight from SQLite, ordered by the media's
date (EXIF time, else the file's) and id, through an index on ``(date, id)``; a 100,000-file
library pages in milliseconds and its month list is one grouped query.

Files that failed to index are not shown (they have no picture to show); pending ones are (their
thumbnails come from the file itself).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, func, select

from db import Database, Media, inside_folder

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class BrowseScope:
    folder: str | None = None  # None: the whole library
    recursive: bool = True  # include the folder's subfolders
    kind: str | None = None  # 'photo' | 'video'
    after: date | None = None  # inclusive
    before: date | None = None  # inclusive (the whole day)
    newest_first: bool = True


@dataclass(frozen=True)
class MonthBucket:
    """One month of a scope: ``offset`` is the row of its first item in browse order."""
    year: int
    month: int
    count: int
    offset: int

    @property
    def label(self) -> str:
        return datetime(self.year, self.month, 1).strftime("%B %Y")


@dataclass(frozen=True)
class BrowseItem:
    media_id: int
    path: str
    kind: str
    date: float | None
    width: int | None
    height: int | None
    duration: float | None


def _day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _conditions(scope: BrowseScope) -> list:
    where = [Media.status != "failed"]
    if scope.folder:
        folder = os.path.abspath(scope.folder)
        where.append(inside_folder(Media.path, folder))
        if not scope.recursive:
            prefix = folder.rstrip(os.sep) + os.sep
            # directly inside: nothing after the prefix contains another separator
            where.append(func.instr(func.substr(Media.path, len(prefix) + 1), os.sep) == 0)
    if scope.kind:
        where.append(Media.kind == scope.kind)
    if scope.after:
        where.append(Media.date >= _day_start(scope.after))
    if scope.before:
        where.append(Media.date < _day_start(scope.before + timedelta(days=1)))
    return where


def browse_page(db: Database, scope: BrowseScope, offset: int = 0, limit: int = 500) -> list[BrowseItem]:
    """Items ``offset .. offset+limit`` of the scope in date order."""
    order = (Media.date.desc(), Media.id.desc()) if scope.newest_first else (Media.date.asc(), Media.id.asc())
    query = (select(Media.id, Media.path, Media.kind, Media.date, Media.width, Media.height, Media.duration)
             .where(and_(*_conditions(scope))).order_by(*order).offset(max(0, offset)).limit(max(0, limit)))
    with db.session() as session:
        return [BrowseItem(*row) for row in session.execute(query)]


def month_buckets(db: Database, scope: BrowseScope) -> list[MonthBucket]:
    """The scope's months in browse order, with their sizes and first rows."""
    month = func.strftime("%Y-%m", Media.date, "unixepoch")
    query = select(month, func.count()).where(and_(*_conditions(scope))).group_by(month)
    with db.session() as session:
        rows = [(key, n) for key, n in session.execute(query) if key]
    rows.sort(reverse=scope.newest_first)
    out, offset = [], 0
    for key, n in rows:
        year, mon = (int(part) for part in key.split("-"))
        out.append(MonthBucket(year, mon, n, offset))
        offset += n
    return out


def month_of(epoch: float | None) -> tuple[int, int] | None:
    """(year, month) of a media date, as the buckets count it (dates are stored as UTC)."""
    if epoch is None:
        return None
    try:
        moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.year, moment.month


def folder_progress(db: Database) -> dict[str, tuple[int, int]]:
    """Per folder (files directly inside): (indexed, total), failed files not counted in either —
    they are neither photos nor videos to the user, and the failures list shows them."""
    counts: dict[str, list[int]] = {}
    query = select(Media.path, Media.status).where(Media.status != "failed")
    with db.session() as session:
        for path, status in session.execute(query):
            entry = counts.setdefault(os.path.dirname(path), [0, 0])
            entry[1] += 1
            if status == "indexed":
                entry[0] += 1
    return {folder: (done, total) for folder, (done, total) in counts.items()}
