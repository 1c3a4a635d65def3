"""The list of files that could not be indexed, with the reason for each."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from app.library import FailedFile
from ui.format import format_count


class FailuresDialog(QDialog):
    reveal_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files that could not be indexed")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name or reason")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        layout.addWidget(self.filter)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["File", "Reason", "Folder"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemActivated.connect(lambda item, _col: self.reveal_requested.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.reveal_button = QPushButton("Show in Folder")
        self.reveal_button.clicked.connect(self._reveal)
        self.copy_button = QPushButton("Copy List")
        self.copy_button.clicked.connect(self.copy_list)
        row.addWidget(self.reveal_button)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        row.addWidget(buttons)
        layout.addLayout(row)
        self.failures: list[FailedFile] = []
        self.set_failures([])

    def set_failures(self, failures: list[FailedFile]) -> None:
        self.failures = list(failures)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        items = []
        for failure in self.failures:
            item = QTreeWidgetItem([os.path.basename(failure.path), failure.reason, os.path.dirname(failure.path)])
            item.setData(0, Qt.ItemDataRole.UserRole, failure.path)
            item.setToolTip(0, failure.path)
            item.setToolTip(1, failure.reason)
            items.append(item)
        self.tree.addTopLevelItems(items)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        if items:
            self.tree.resizeColumnToContents(0)
            self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), 280))
            self.tree.setColumnWidth(1, 260)
        self.summary.setText(
            "Every file below was skipped, for the reason shown. They are tried again when they change."
            if items else "Every file in the library could be read.")
        self.setWindowTitle(f"{format_count(len(items), 'file')} could not be indexed" if items
                            else "No indexing problems")
        self._apply_filter(self.filter.text())

    def rows(self) -> list[tuple[str, str]]:
        return [(self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole), self.tree.topLevelItem(i).text(1))
                for i in range(self.tree.topLevelItemCount()) if not self.tree.topLevelItem(i).isHidden()]

    def _apply_filter(self, text: str) -> None:
        needle = text.casefold().strip()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            haystack = f"{item.data(0, Qt.ItemDataRole.UserRole)}\n{item.text(1)}".casefold()
            item.setHidden(bool(needle) and needle not in haystack)

    def _reveal(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.reveal_requested.emit(item.data(0, Qt.ItemDataRole.UserRole))

    def copy_list(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(f"{path}\t{reason}" for path, reason in self.rows()))
