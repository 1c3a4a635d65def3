"""Window and view preferences, kept in an ini file inside the app's data folder.

An explicit file (not the platform's registry/plist default) keeps every library — and every
test's temporary home — separate.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

SORTS = ("relevance", "newest", "oldest")


class GuiSettings:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _get(self, key: str, default, kind=None):
        value = self._qs.value(key, default)
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if kind is not None:
            try:
                return kind(value)
            except (TypeError, ValueError):
                return default
        return value

    def sync(self) -> None:
        self._qs.sync()

    # window -------------------------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._qs.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        value = self._qs.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._qs.setValue("window/state", value)

    @property
    def splitter(self) -> QByteArray | None:
        value = self._qs.value("window/splitter")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @splitter.setter
    def splitter(self, value: QByteArray) -> None:
        self._qs.setValue("window/splitter", value)

    # search -------------------------------------------------------------------------------
    @property
    def scope(self) -> str | None:
        value = self._qs.value("search/scope", "")
        return str(value) if value else None

    @scope.setter
    def scope(self, value: str | None) -> None:
        self._qs.setValue("search/scope", value or "")

    @property
    def show_preview(self) -> bool:
        return self._get("window/show_preview", True, bool)

    @show_preview.setter
    def show_preview(self, value: bool) -> None:
        self._qs.setValue("window/show_preview", bool(value))

    @property
    def show_scores(self) -> bool:
        return self._get("search/show_scores", False, bool)

    @show_scores.setter
    def show_scores(self, value: bool) -> None:
        self._qs.setValue("search/show_scores", bool(value))

    @property
    def sort(self) -> str:
        value = str(self._qs.value("search/sort", "relevance"))
        return value if value in SORTS else "relevance"

    @sort.setter
    def sort(self, value: str) -> None:
        self._qs.setValue("search/sort", value if value in SORTS else "relevance")

    @property
    def cutoff(self) -> int:
        """The relevance cut-off slider position, in hundredths of a score (0 = off)."""
        return max(0, min(100, self._get("search/cutoff", 0, int)))

    @cutoff.setter
    def cutoff(self, value: int) -> None:
        self._qs.setValue("search/cutoff", int(value))

    @property
    def thumbnail_size(self) -> int:
        return max(96, min(320, self._get("view/thumbnail_size", 168, int)))

    @thumbnail_size.setter
    def thumbnail_size(self, value: int) -> None:
        self._qs.setValue("view/thumbnail_size", int(value))
