"""The window's search side: the search field, find-similar, scope, filters and the results
shown in the grid."""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog

from app.library import SearchResult
from ui import desktop
from ui.results_model import ResultRole
from ui.search import SearchState

log = logging.getLogger(__name__)


class SearchMixin:
    """Part of ``MainWindow`` (mixed in); uses the widgets and controllers it builds."""

    # ====================================================================================
    # searching
    # ====================================================================================
    def focus_search(self) -> None:
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def clear_search(self) -> None:
        self.search_field.clear()
        self.search.clear()
        self.search_field.setFocus()

    def _enter_pressed(self) -> None:
        self.search.submit(self.search_field.text())

    def eventFilter(self, obj, event) -> bool:
        # Down arrow in the search field moves into the results; Escape clears it.
        if obj is self.search_field and event.type() == event.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self.clear_search()
            return True
        if obj is self.search_field and event.type() == event.Type.KeyPress and event.key() == Qt.Key.Key_Down:
            if self.model.rowCount():
                current = self.view.currentIndex()
                self.view.setFocus()
                self.view.selectionModel().setCurrentIndex(
                    current if current.isValid() else self.model.index(0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect)
                return True
        return super().eventFilter(obj, event)

    def search_similar(self, path: str) -> None:
        self.search_field.clear()
        self.similar_chip.set_folder(path, f"Like {os.path.basename(path)}")
        self.similar_chip.label.setToolTip(f"Searching for pictures like {path}")
        self.search.set_similar(path)

    def choose_picture(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Search by picture", "",
                                              "Pictures (*.jpg *.jpeg *.png *.webp *.heic *.tif *.tiff *.bmp)")
        if path:
            self.search_similar(path)

    def set_scope(self, folder: str | None) -> None:
        folder = os.path.abspath(folder) if folder else None
        self.scope = folder
        self.scope_chip.set_folder(folder, os.path.basename(folder.rstrip(os.sep)) or folder if folder else None)
        self.sidebar.select_scope(folder)
        self.setWindowTitle(f"{os.path.basename(folder.rstrip(os.sep)) or folder} — mediaseek" if folder else "mediaseek")
        self.search.set_scope(folder)
        self.filter_bar.subfolders.setVisible(folder is not None)
        self.browser.set_scope(folder=folder)
        self._update_page()
        self._write_status()

    def clear_filters(self) -> None:
        self.filter_bar.set_kind(None)
        self.filter_bar.set_dates(None, None)
        self.search.set_strength(None)
        if self.scope:
            self.set_scope(None)

    def _sort_changed(self, sort: str) -> None:
        if self.browsing:  # the browse order is the window's, kept across searches
            self.browse_newest_first = sort != "oldest"
            self.browser.set_scope(newest_first=self.browse_newest_first)
        else:
            self.search.set_sort(sort)

    def _scores_toggled(self, show: bool) -> None:
        self.view.set_show_scores(show)
        self.scores_action.blockSignals(True)
        self.scores_action.setChecked(show)
        self.scores_action.blockSignals(False)

    def _cutoff_changed(self, strength: float) -> None:
        self.search.set_strength(strength)

    def _weaker_changed(self, weaker: int) -> None:
        self.weaker_bar.set_count(weaker, self.search.state.show_weak, strong=self.search.strong)
        self._update_page()  # no strong match but weaker ones: the results page offers them

    def set_thumb_size(self, size: int) -> None:
        self.view.set_thumb_size(max(96, min(320, size)))

    def _state_changed(self, state: SearchState) -> None:
        if state.has_query and self.filter_bar.sort.currentData() != state.sort:
            self.filter_bar.sort.blockSignals(True)  # a new search starts at best match
            self.filter_bar.set_sort(state.sort)
            self.filter_bar.sort.blockSignals(False)
        if state.image is None and self.similar_chip.isVisible():
            self.similar_chip.set_folder(None)

    def _results_ready(self, results: list[SearchResult], more: bool) -> None:
        if self._hold(results, lambda: self._results_ready(list(results), more)):
            return
        self.new_bar.set_count(0, False)
        self._held = None
        current = self.view.currentIndex()
        # the same query again (new files indexed) keeps the selected item; a new list starts at the top
        keep = current.data(ResultRole).media_id if current.isValid() and not self.model.browsing else None
        self.model.browsing = self.view.delegate.browsing = False
        self.model.sectioned = self.search.state.sort != "relevance"
        self.model.profile = self.search.profile
        self.filter_bar.set_searching(True)
        self.filter_bar.show_cutoff(self.search.cut_strength())
        self.filter_bar.set_months([])
        self.model.set_results(results, more)
        if keep is not None and not self.view.currentIndex().isValid():
            row = self.model.row_of(keep)
            if row >= 0:
                self.view.selectionModel().setCurrentIndex(
                    self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
            else:
                self.preview.show_result(None)
        self._update_page()
        self._update_summary()
        self._write_status()

    def _search_cleared(self) -> None:
        self.browse_now()
        self._update_page()
        self._update_summary()
        self._write_status()

    def _search_failed(self, message: str) -> None:
        self.model.clear()
        self.message_bar.show_message(message, "error")
        self._update_page()
        self._write_status()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.preview.show_result(current.data(ResultRole) if current.isValid() else None)

    def _open_index(self, index: QModelIndex) -> None:
        result: SearchResult | None = index.data(ResultRole)
        if result is not None:
            self.open_file(result.path, result.timestamp if result.kind == "video" else None)

    def open_file(self, path: str, timestamp: float | None = None) -> None:
        if not os.path.exists(path):
            self.message_bar.show_message(f"The file is no longer there: {path}", "warning")
            return
        if not desktop.open_file(path, timestamp):
            self.message_bar.show_message(f"No application is set up to open {os.path.basename(path)}.", "warning")

    def _copy_path(self, path: str) -> None:
        desktop.copy_path(path)
        self.statusBar().showMessage("Path copied", 2500)
