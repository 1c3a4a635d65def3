"""The library sidebar: the roots as a folder tree with file counts.

Selecting a folder scopes the search to it; "All folders" clears the scope. The right-click menu
offers "Show this folder", "Re-index", "Show in file manager" and, on a root, "Remove from
library". The tree is built from ``Library.roots()`` and ``Library.folder_counts()`` (fetched off
the GUI thread by the window); counts include subfolders.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QFont, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.library import RootInfo
from ui.icons import mix, themed

PathRole = Qt.ItemDataRole.UserRole + 1
IsRootRole = Qt.ItemDataRole.UserRole + 2
DimRole = Qt.ItemDataRole.UserRole + 3



_TOP = object()  # a row at the top level of the tree


def _folder_totals(root_paths: list[str], counts: dict[str, int | tuple[int, int]]) -> tuple[dict, dict]:
    """Files below each folder (its own and its subfolders'), total and indexed."""
    totals: dict[str, int] = {}
    done: dict[str, int] = {}
    for folder, value in counts.items():
        indexed, n = value if isinstance(value, tuple) else (value, value)
        root = next((r for r in root_paths if folder == r or folder.startswith(r.rstrip(os.sep) + os.sep)), None)
        if root is None:
            continue
        current = folder
        while True:
            totals[current] = totals.get(current, 0) + n
            done[current] = done.get(current, 0) + indexed
            if current == root or len(current) <= len(root):
                break
            current = os.path.dirname(current)
    return totals, done


class _CountDelegate(QStyledItemDelegate):
    """Draws the file counts in a dimmer colour (unless the row is selected)."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        if index.data(DimRole) and not option.state & QStyle.StateFlag.State_Selected:
            palette = option.palette
            text = palette.color(QPalette.ColorRole.Text)
            base = palette.color(QPalette.ColorRole.Base)
            palette.setColor(QPalette.ColorRole.Text, mix(base, text, 0.55))
            option.palette = palette


def _display_root(path: str, all_roots: Iterable[str]) -> str:
    name = os.path.basename(path.rstrip(os.sep)) or path
    clashes = sum(1 for p in all_roots if (os.path.basename(p.rstrip(os.sep)) or p) == name)
    if clashes > 1:
        home = os.path.expanduser("~")
        return "~" + path[len(home):] if path.startswith(home + os.sep) else path
    return name


class LibrarySidebar(QWidget):
    scope_requested = Signal(object)  # folder path, or None for the whole library
    reindex_requested = Signal(str)
    remove_requested = Signal(str)
    add_requested = Signal()
    reveal_requested = Signal(str)
    duplicates_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        header = QHBoxLayout()
        header.setContentsMargins(10, 8, 4, 4)
        title = QLabel("Library")
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)
        header.addWidget(title, 1)
        self.add_button = QToolButton()
        self.add_button.setAutoRaise(True)
        self.add_button.setIcon(themed("list-add"))
        self.add_button.setToolTip("Add a folder to the library…")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QToolButton()
        self.remove_button.setAutoRaise(True)
        self.remove_button.setIcon(themed("list-remove"))
        self.remove_button.setToolTip("Remove the selected folder from the library (files are not touched)")
        self.remove_button.clicked.connect(self._remove_selected)
        self.duplicates_button = QToolButton()
        self.duplicates_button.setAutoRaise(True)
        self.duplicates_button.setIcon(themed("edit-copy"))
        self.duplicates_button.setToolTip("Find duplicates in the selected folder (or the whole library)…")
        self.duplicates_button.clicked.connect(self.duplicates_requested)
        header.addWidget(self.add_button)
        header.addWidget(self.remove_button)
        header.addWidget(self.duplicates_button)
        layout.addLayout(header)

        self.model = QStandardItemModel(0, 2, self)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.viewport().installEventFilter(self)  # a right-click opens the menu, never changes the scope
        self.tree.setFrameShape(QTreeView.Shape.NoFrame)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setItemDelegateForColumn(1, _CountDelegate(self.tree))
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        layout.addWidget(self.tree, 1)
        self.roots: list[RootInfo] = []
        self._items: dict[str | None, QStandardItem] = {}
        self._syncing = False
        self._scope: str | None = None
        self._update_buttons()

    # -- content ---------------------------------------------------------------------------
    def set_library(self, roots: list[RootInfo], counts: dict[str, int | tuple[int, int]]) -> None:
        """``counts``: files directly in each folder, or (indexed, total) while some wait to be indexed.

        While indexing this runs every few seconds: when the folders are the same as shown, only the
        numbers and tooltips change in place (rebuilding a tree of hundreds of folders took ~80 ms of
        the GUI thread, bench/bench_gui.py)."""
        self.roots = list(roots)
        root_paths = [r.path for r in roots]
        totals, done = _folder_totals(root_paths, counts)
        done[None] = sum(done.get(r, 0) for r in root_paths)  # type: ignore[index]
        self._done = done
        rows = self._plan(roots, root_paths, totals)
        if [row[0] for row in rows] == list(self._items):
            for path, _label, count, _parent, _is_root, tip, italic in rows:
                item = self._items[path]
                self._set_number(item.index().siblingAtColumn(1), path, count)
                if item.toolTip() != tip:
                    item.setToolTip(tip)
                if item.font().italic() != italic:
                    font = item.font()
                    font.setItalic(italic)
                    item.setFont(font)
            return
        expanded = {path for path, item in self._items.items()
                    if path and self.tree.isExpanded(item.index())}
        first_time = not self._items
        self._syncing = True
        self.model.removeRows(0, self.model.rowCount())
        self._items = {}
        for path, label, count, parent, is_root, tip, italic in rows:
            under = self.model.invisibleRootItem() if parent is _TOP else self._items[parent]
            icon = themed("drive-harddisk") if path is None else themed("folder")
            item = self._row(under, path, label, count, icon, is_root=is_root)
            item.setToolTip(tip)
            if italic:
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
        for path, item in self._items.items():
            if path in expanded or (first_time and item.data(IsRootRole)):
                self.tree.setExpanded(item.index(), True)
        self._select(self._scope)
        self._syncing = False
        self._update_buttons()

    @staticmethod
    def _plan(roots: list[RootInfo], root_paths: list[str], totals: dict[str, int]) -> list[tuple]:
        """The tree's rows in order: (path, label, count, parent path or _TOP, is_root, tooltip, italic)."""
        rows: list[tuple] = []
        if roots:
            rows.append((None, "All folders", sum(totals.get(r, 0) for r in root_paths), _TOP, False,
                         "Search the whole library", False))
        for root in roots:
            tip = root.path
            if root.pending:
                tip += f"\n{root.pending:,} waiting to be indexed"
            if root.failed:
                tip += f"\n{root.failed:,} could not be read"
            if not root.exists:
                tip += "\nFolder not found (a disconnected drive?)"
            rows.append((root.path, _display_root(root.path, root_paths), totals.get(root.path, 0), _TOP, True,
                         tip, not root.exists))
            known = {root.path}
            below = sorted((f for f in totals if f != root.path and f.startswith(root.path.rstrip(os.sep) + os.sep)),
                           key=lambda p: [part.casefold() for part in p.split(os.sep)])
            for folder in below:
                parent = os.path.dirname(folder)
                rows.append((folder, os.path.basename(folder), totals[folder], parent if parent in known else root.path,
                             False, folder, False))
                known.add(folder)
        return rows

    def _row(self, parent: QStandardItem, path: str | None, label: str, count: int, icon,
             is_root: bool = False) -> QStandardItem:
        name = QStandardItem(icon, label)
        name.setData(path, PathRole)
        name.setData(is_root, IsRootRole)
        number = QStandardItem()
        number.setData(path, PathRole)
        number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        number.setData(True, DimRole)
        parent.appendRow([name, number])
        self._set_number(number.index(), path, count)
        self._items[path] = name
        return name

    def _set_number(self, index: QModelIndex, path: str | None, count: int) -> None:
        """'1,234', or '240/1,234' while some wait to be indexed."""
        indexed = getattr(self, "_done", {}).get(path, count)
        text = f"{count:,}" if indexed >= count else f"{indexed:,}/{count:,}"
        tip = f"{indexed:,} of {count:,} indexed" if indexed < count else ""
        if index.data() != text:
            self.model.setData(index, text)
        if (index.data(Qt.ItemDataRole.ToolTipRole) or "") != tip:
            self.model.setData(index, tip, Qt.ItemDataRole.ToolTipRole)

    def folder_count(self, path: str | None) -> int | None:
        item = self._items.get(path)
        if item is None:
            return None
        sibling = item.index().siblingAtColumn(1)
        return int(str(sibling.data()).split("/")[-1].replace(",", ""))

    def folder_indexed(self, path: str | None) -> int | None:
        """How many files below ``path`` are indexed (the count shows "indexed/total" until all are)."""
        item = self._items.get(path)
        if item is None:
            return None
        return int(str(item.index().siblingAtColumn(1).data()).split("/")[0].replace(",", ""))

    def paths(self) -> list[str | None]:
        return list(self._items)

    # -- scope -----------------------------------------------------------------------------
    def select_scope(self, folder: str | None) -> None:
        """Show ``folder`` as selected without asking for a new scope."""
        self._scope = folder
        self._syncing = True
        self._select(folder)
        self._syncing = False
        self._update_buttons()

    def _select(self, folder: str | None) -> None:
        item = self._items.get(folder)
        if item is None:
            self.tree.clearSelection()
            self.tree.setCurrentIndex(QModelIndex())
            return
        index = item.index()
        parent = index.parent()
        while parent.isValid():
            self.tree.setExpanded(parent, True)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()
        if self._syncing or not current.isValid():
            return
        path = current.siblingAtColumn(0).data(PathRole)
        self._scope = path
        self.scope_requested.emit(path)

    def _selected_path(self) -> str | None:
        index = self.tree.currentIndex()
        return index.siblingAtColumn(0).data(PathRole) if index.isValid() else None

    def _selected_root(self) -> str | None:
        index = self.tree.currentIndex()
        if index.isValid() and index.siblingAtColumn(0).data(IsRootRole):
            return index.siblingAtColumn(0).data(PathRole)
        return None

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self._selected_root() is not None)

    def _remove_selected(self) -> None:
        root = self._selected_root()
        if root:
            self.remove_requested.emit(root)

    # -- context menu ----------------------------------------------------------------------
    def actions_for(self, path: str | None) -> list[QAction]:
        """The context menu's actions for the folder ``path`` (None: the empty area)."""
        actions = []
        if path is not None:
            search = QAction(themed("system-search"), "Show this folder", self)
            search.triggered.connect(lambda: self.scope_requested.emit(path))
            reindex = QAction(themed("view-refresh"), "Re-index", self)
            reindex.triggered.connect(lambda: self.reindex_requested.emit(path))
            reveal = QAction(themed("folder-open"), "Show in file manager", self)
            reveal.triggered.connect(lambda: self.reveal_requested.emit(path))
            actions += [search, reindex, reveal]
            if any(r.path == path for r in self.roots):
                remove = QAction(themed("list-remove"), "Remove from library", self)
                remove.triggered.connect(lambda: self.remove_requested.emit(path))
                actions.append(remove)
        add = QAction(themed("list-add"), "Add folder…", self)
        add.triggered.connect(self.add_requested)
        actions.append(add)
        return actions

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self.tree.viewport() and event.type() in (QEvent.Type.MouseButtonPress,
                                                             QEvent.Type.MouseButtonRelease) \
                and event.button() == Qt.MouseButton.RightButton:
            return True  # the context menu event still comes; the current folder stays
        return super().eventFilter(obj, event)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        path = index.siblingAtColumn(0).data(PathRole) if index.isValid() else None
        menu = QMenu(self)
        for action in self.actions_for(path):
            if action.text() in ("Show in file manager", "Add folder…") and not menu.isEmpty():
                menu.addSeparator()
            menu.addAction(action)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
        menu.deleteLater()
