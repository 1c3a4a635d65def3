"""The window's selection and file actions: what is selected (a count in the status bar), the
context menu on results, Delete / Ctrl+Z / Ctrl+C, and keeping the grid in step when files are
trashed, moved or copied (``ui.actions.ResultActions`` does the work through ``app``)."""
from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint
from PySide6.QtWidgets import QAbstractItemView

from app.library import SearchResult
from ui.results_model import ResultRole

log = logging.getLogger(__name__)


class ActionsMixin:
    """Part of ``MainWindow`` (mixed in); uses the widgets and controllers it builds."""

    def selected_results(self) -> list[SearchResult]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        results = [self.model.result(r) for r in rows]
        if not results and self.view.currentIndex().isValid():
            results = [self.view.currentIndex().data(ResultRole)]
        return [r for r in results if r is not None]

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        if not self.view.selectionModel().isSelected(index):  # right-click outside the selection: just this one
            self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        results = self.selected_results()
        if results:
            self.context_menu = self.actions.menu_for(results, self)
            self.context_menu.popup(self.view.viewport().mapToGlobal(pos))

    def _say(self, text: str, level: str, buttons: list) -> None:
        self.message_bar.show_message(text, level, buttons)
        self._write_status()

    def trash_selected(self) -> None:
        paths = [r.path for r in self.selected_results()]
        if paths:
            self.actions.trash(paths)

    def copy_selected_paths(self) -> None:
        paths = [r.path for r in self.selected_results()]
        if paths:
            self.actions.copy_paths(paths)
            self.statusBar().showMessage("Path copied" if len(paths) == 1 else f"{len(paths):,} paths copied", 2500)

    def undo(self) -> None:
        if not self.actions.undo():
            self.statusBar().showMessage("Nothing to undo", 2500)

    def _files_removed(self, paths: list[str]) -> None:
        self.search.forget(paths)
        self.browser.forget(paths)
        self.model.remove_paths(paths)
        if self.preview.result is not None and self.preview.result.path in paths:
            self.preview.show_result(None)
        self.refresh_library()
        self._update_page()
        self._update_summary()
        self._write_status()

    def _files_changed(self) -> None:
        self.refresh_library()
        if self.browsing:
            self.browser.refresh()
        else:
            self.search.refresh()

    def _selection_changed(self, *_args) -> None:
        self._update_summary()

    # -- the full-window viewer -------------------------------------------------------------
    def show_viewer(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        self._place_viewer()
        self.viewer.show_row(self.model, index.row())
        self._write_status()

    def _place_viewer(self) -> None:
        central = self.centralWidget()
        self.viewer.setGeometry(central.geometry())

    def _viewer_closed(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        self.view.setFocus()
        self._write_status()

    # -- stable while indexing: new results are announced, not reflowed under the pointer ---------
    def _indexed_more(self) -> None:
        if self.browsing:
            self.browser.refresh()
            token = ("browse", self.browser.generation)
        else:
            self.search.refresh()
            token = ("search", self.search.generation)
        # only the answer to this very refresh is held back; a new query or scope shows at once
        self._hold_next = token if self.model.rowCount() > 0 else False

    def _hold(self, results: list, apply) -> bool:
        """True when ``results`` (from indexing) are held back and announced instead of shown."""
        token = self._hold_next
        current = ("browse", self.browser.generation) if self.browsing else ("search", self.search.generation)
        if not token or token != current:
            return False
        self._hold_next = False
        shown = {r.media_id for r in self.model.results}
        if not shown:
            return False  # an empty grid has nothing under the pointer to move: show the results
        new = sum(1 for r in results if r.media_id not in shown)
        if new == 0:
            # nothing new: what is on screen stays exactly where it is (files that went are dropped now)
            return len(results) >= len(shown)
        self._held = (apply, results)
        self.new_bar.set_count(new, False, "matches" if not self.browsing else "items")
        return True

    def _show_held(self) -> None:
        held, self._held = self._held, None
        self.new_bar.set_count(0, False)
        if held is not None:
            apply, _results = held
            apply()
