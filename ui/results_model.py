"""The search results as a Qt list model.

The model holds the plain ``SearchResult`` objects the service layer returns (a 100,000-item list
is a few tens of MB of Python objects, no widgets, no pixmaps); thumbnails are asked for only when
the view paints a row. When a new result list starts with the old one (the user scrolled and more
results were fetched) rows are appended instead of resetting the view, so the scroll position and
selection stay where they were.
"""
from __future__ import annotations

import math
import os
from datetime import datetime
from collections.abc import Sequence

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QObject, QPersistentModelIndex, Qt, QUrl, Signal

from app import relevance
from app.browse import month_of
from app.library import SearchResult
from ui.format import format_date, format_timestamp
from ui.thumbnail_loader import ThumbKey, ThumbnailLoader

ResultRole = Qt.ItemDataRole.UserRole + 1
ThumbFailedRole = Qt.ItemDataRole.UserRole + 2
SectionRole = Qt.ItemDataRole.UserRole + 3  # "July 2021" when the grid is in date order, else None
SectionStartRole = Qt.ItemDataRole.UserRole + 4  # True on the first item of a month

_Index = QModelIndex | QPersistentModelIndex


def section_label(epoch: float | None) -> str:
    month = month_of(epoch)
    return datetime(month[0], month[1], 1).strftime("%B %Y") if month else "No date"




def text_label(result: SearchResult) -> str:
    """The words a result was found by, as the grid shows them ('“GATE B42”'); '' when none."""
    text = " ".join((result.text or "").split())
    return f"\u201c{text}\u201d" if text else ""


def thumb_bucket(px: float) -> int:
    """Round a pixel size up to a multiple of 64 so small zoom changes reuse cached files."""
    return max(64, int(math.ceil(px / 64.0)) * 64)


class ResultsModel(QAbstractListModel):
    more_requested = Signal()
    thumbnails_arrived = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.thumb_px = 256
        self._results: list[SearchResult] = []
        self._more_available = False
        self._fetching = False
        self.sectioned = False  # in date order: months are shown as sections
        self.browsing = False  # no query: the items have no scores
        self.profile = None  # app.relevance.ScoreProfile of the query shown: scores as a person reads them
        loader.ready.connect(self._thumbnail_ready)
        loader.failed.connect(lambda key, _reason: self._thumbnail_ready(key))

    # -- content ---------------------------------------------------------------------------
    @property
    def results(self) -> list[SearchResult]:
        return self._results

    def set_results(self, results: Sequence[SearchResult], more_available: bool = False,
                    appended: bool = False) -> None:
        """``appended``: the caller knows ``results`` starts with the current list (a next page)."""
        results = list(results)
        old = self._results
        self._fetching = False
        self._more_available = more_available
        if appended and len(results) >= len(old):
            if len(results) > len(old):
                self.beginInsertRows(QModelIndex(), len(old), len(results) - 1)
                self._results = results
                self.endInsertRows()
            return
        if old and len(results) > len(old) and all(
                a.media_id == b.media_id and a.score == b.score for a, b in zip(old, results[: len(old)])):
            self.beginInsertRows(QModelIndex(), len(old), len(results) - 1)
            self._results = results
            self.endInsertRows()
            return
        self.beginResetModel()
        self._results = results
        self.loader.forget_queue()
        self.endResetModel()

    def clear(self) -> None:
        self.set_results([])

    def remove_paths(self, paths) -> None:
        """Drop these files' rows where they are (the rest of the grid stays in place)."""
        gone = set(paths)
        rows = [i for i, r in enumerate(self._results) if r.path in gone]
        for row in reversed(rows):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._results[row]
            self.endRemoveRows()

    def result(self, row: int) -> SearchResult | None:
        return self._results[row] if 0 <= row < len(self._results) else None

    def row_of(self, media_id: int) -> int:
        for row, result in enumerate(self._results):
            if result.media_id == media_id:
                return row
        return -1

    def score_text(self, result: SearchResult) -> str:
        """'strong · 92 %': the engine's raw number is for ranking, not for showing."""
        if self.profile is None:
            return ""
        return relevance.words(self.profile.strength(result.score))

    def thumb_key(self, result: SearchResult) -> ThumbKey:
        return ThumbKey(result.path, result.kind, result.timestamp if result.kind == "video" else None,
                        result.media_id, self.thumb_px)

    # -- Qt model API ----------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._results)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        result = self.result(index.row())
        if result is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(result.path)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.loader.pixmap(self.thumb_key(result))
        if role == ResultRole:
            return result
        if role == SectionRole:
            return section_label(result.date) if self.sectioned else None
        if role == SectionStartRole:
            if not self.sectioned:
                return False
            previous = self.result(index.row() - 1)
            return previous is None or month_of(previous.date) != month_of(result.date)
        if role == ThumbFailedRole:
            return self.loader.failure(self.thumb_key(result))
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [result.path]
            if result.date:
                lines.append(format_date(result.date))
            if result.kind == "video" and result.timestamp is not None:
                lines.append(f"best moment at {format_timestamp(result.timestamp)}")
            if result.kind == "video" and result.duration:
                lines.append(f"length {format_timestamp(result.duration)}")
            if not self.browsing:
                lines.append(f"match: {self.score_text(result)}")
            if result.text:
                lines.append(f"text: {text_label(result)}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            found = f", text {text_label(result)}" if result.text else ""
            return f"{os.path.basename(result.path)}, {result.kind}{found}"
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        paths = [self._results[i.row()].path for i in indexes if i.isValid() and i.row() < len(self._results)]
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        mime.setText("\n".join(paths))
        return mime

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more_available and not self._fetching

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._fetching = True
            self.more_requested.emit()

    # -- thumbnails ------------------------------------------------------------------------
    def _thumbnail_ready(self, key: ThumbKey) -> None:
        """Only rows on screen ask for thumbnails, so a repaint of the visible area is all a new
        one needs; that avoids mapping paths to rows across 100,000 results."""
        if key.px == self.thumb_px:
            self.thumbnails_arrived.emit()
