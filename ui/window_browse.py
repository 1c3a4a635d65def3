"""The window's browse side: with no query the grid shows what is being browsed (everything, a
root, a folder with or without its subfolders; photos/videos; dates), newest first under month
headers, with a month list to jump to."""
from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QAbstractItemView

from app.library import SearchResult
from ui.results_model import ResultRole

log = logging.getLogger(__name__)


class BrowseMixin:
    """Part of ``MainWindow`` (mixed in); uses the widgets and controllers it builds."""

    @property
    def browsing(self) -> bool:
        return not self.search.state.has_query

    def browse_now(self) -> None:
        """Show the current scope (no query)."""
        self.filter_bar.set_months(self.browser.months)
        self.browser.set_scope(folder=self.scope, kind=self.filter_bar.kind_value(),
                               after=self.filter_bar.after_value(), before=self.filter_bar.before_value(),
                               newest_first=self.browse_newest_first)
        if self.browser.results and not self.browser.busy:
            self._browse_ready(self.browser.results, self.browser.more, False)

    def _browse_ready(self, results: list[SearchResult], more: bool, appended: bool) -> None:
        if not self.browsing:
            return
        if not appended and self._hold(results, lambda: self._browse_ready(list(results), more, False)):
            return
        if not appended:
            self.new_bar.set_count(0, False)
            self._held = None
        self.model.browsing = self.view.delegate.browsing = True
        self.model.sectioned = True
        self.model.profile = None
        self.filter_bar.set_searching(False, self.browser.scope.newest_first)
        self.weaker_bar.set_count(0, False)
        current = self.view.currentIndex()
        keep = current.data(ResultRole).media_id if current.isValid() and not appended else None
        self.model.set_results(results, more, appended)
        if keep is not None and not self.view.currentIndex().isValid():
            row = self.model.row_of(keep)
            if row >= 0:
                self.view.selectionModel().setCurrentIndex(
                    self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.update_header()
        if self._pending_jump is not None:
            self.jump_to_row(self._pending_jump)
        self._update_page()
        self._update_summary()
        self._write_status()

    def _months_ready(self, months) -> None:
        if months and not (self.browser.scope.after or self.browser.scope.before):
            from datetime import date

            years_months = [(m.year, m.month) for m in months]
            first, last = min(years_months), max(years_months)
            self.filter_bar.set_date_range(date(first[0], first[1], 1), date(last[0], last[1], 28))
        if self.browsing:
            self.filter_bar.set_months(months)

    def jump_to_row(self, row: int) -> None:
        """Scroll so that ``row`` (the first item of a month) is at the top, reading up to it first."""
        if row < self.model.rowCount():
            self._pending_jump = None
            index = self.model.index(row)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
            self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.update_header()
        elif self.browser.more:
            self._pending_jump = row
            self.browser.fetch_more(upto=row)

    def _fetch_more(self) -> None:
        if self.browsing:
            self.browser.fetch_more()
        else:
            self.search.fetch_more()

    def _recursive_changed(self, recursive: bool) -> None:
        self.search.set_recursive(recursive)  # a query searches what is browsed
        self.browser.set_scope(recursive=recursive)

    def _browse_filters_changed(self, kind, after, before) -> None:
        self.search.set_filters(kind, after, before)  # first, so what the pages say is current
        self.browser.set_scope(kind=kind, after=after, before=before)
