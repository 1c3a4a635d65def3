"""The window's pages (no model, welcome, hint, results, no results), summary line and the
status file the end-to-end tests read."""
from __future__ import annotations

import json
import logging
import os

from ui.format import format_count
from ui.window_state import PAGE_EMPTY, PAGE_HINT, PAGE_NAMES, PAGE_NO_MODEL, PAGE_RESULTS, PAGE_WELCOME, inside

log = logging.getLogger(__name__)


class PagesMixin:
    """Part of ``MainWindow`` (mixed in); uses the widgets and controllers it builds."""

    # ====================================================================================
    # pages and status
    # ====================================================================================
    def _show_page(self, page: int) -> None:
        if self.pages.currentIndex() != page:
            self.pages.setCurrentIndex(page)
        searchable = page not in (PAGE_NO_MODEL, PAGE_WELCOME)
        self.search_field.setEnabled(searchable)
        self.filter_bar.setEnabled(searchable)
        self.preview.setVisible(searchable and self.preview_action.isChecked())
        self._write_status()

    def _empty_action(self) -> None:
        if getattr(self, "_empty_adds", False) and self.scope:
            self.message_bar.dismiss()
            self.add_folders([self.scope])
        else:
            self.clear_filters()

    def _preview_toggled(self, show: bool) -> None:
        self.preview.setVisible(show and self.pages.currentIndex() not in (PAGE_NO_MODEL, PAGE_WELCOME))

    def current_page(self) -> str:
        return PAGE_NAMES[self.pages.currentIndex()]

    def _update_page(self) -> None:
        if self.library.models.active_name is None:
            self._show_page(PAGE_NO_MODEL)
        elif self.snapshot is not None and not self.snapshot.roots:
            self._show_page(PAGE_WELCOME)
        elif not self.search.state.has_query:
            if self.model.rowCount() > 0 and self.model.browsing:
                self._show_page(PAGE_RESULTS)
            elif not self.browser.busy and (self.scope or self.browser.scope.kind or self.browser.scope.after
                                            or self.browser.scope.before):
                self._update_empty()
                self._show_page(PAGE_EMPTY)
            elif not self.browser.busy:
                self._update_hint()
                self._show_page(PAGE_HINT)
        elif self.model.rowCount() == 0 and self.weaker_bar.count > 0 and not self.weaker_bar.shown:
            self._show_page(PAGE_RESULTS)  # nothing stands out: the bar under the grid offers the weaker ones
        elif self.model.rowCount() == 0 and not self.search.busy:
            self._update_empty()
            self._show_page(PAGE_EMPTY)
        elif self.model.rowCount() > 0:
            self._show_page(PAGE_RESULTS)

    def _update_hint(self) -> None:
        snap = self.snapshot
        where = f" in {os.path.basename(self.scope) or self.scope}" if self.scope else ""
        if snap is None:
            self.hint_page.text.setText("Type a description above.")
            return
        total = snap.status.photos + snap.status.videos
        if self.scope and snap.counts:
            total = sum(n[1] if isinstance(n, tuple) else n for folder, n in snap.counts.items()
                        if inside(folder, self.scope))
        text = (f"Type a description above to search {format_count(snap.status.photos, 'photo')} and "
                f"{format_count(snap.status.videos, 'video')}." if not self.scope else
                f"Type a description above to search the {format_count(total, 'file')}{where}.")
        text += "\nTry “sunset over water”, “birthday cake” or “a red car”. You can also drop a picture here."
        self.hint_page.text.setText(text)

    def _update_empty(self) -> None:
        state = self.search.state
        roots = self.snapshot.roots if self.snapshot else []
        self._empty_adds = bool(self.scope and roots and not any(inside(self.scope, r.path) for r in roots))
        if self._empty_adds:  # a folder handed over that is not in the library: say so, offer to add it
            name = os.path.basename(self.scope.rstrip(os.sep)) or self.scope
            self.empty_page.text.setText(f"“{name}” is not in your library yet. Add it to see and search its photos "
                                         "and videos; they appear as indexing proceeds.")
            self.empty_page.button.setText("Add and Index")
            self.empty_page.button.setVisible(True)
            return
        self.empty_page.button.setText("Clear Filters")
        reasons = []
        if self.scope:
            reasons.append(f"only in {os.path.basename(self.scope) or self.scope}")
        if state.kind:
            reasons.append(f"only {state.kind}s")
        if state.after or state.before:
            reasons.append("a date range")
        text = "Nothing in the library matches." if state.has_query else "Nothing to show here yet."
        if reasons:
            text = ("Nothing matches with these filters: " if state.has_query else "Nothing here with these filters: ") \
                + ", ".join(reasons) + "."
        if self.indexing.running:
            text += " Indexing is still running; results appear as files are indexed."
        self.empty_page.text.setText(text)
        self.empty_page.button.setVisible(bool(reasons))

    def _update_summary(self) -> None:
        parts = []
        snap = self.snapshot
        if self.search.state.has_query and self.model.rowCount():
            n = self.model.rowCount()
            more = "+" if self.model.canFetchMore() else ""
            parts.append(f"{n:,}{more} {'result' if n == 1 else 'results'}")
        elif self.model.browsing and self.browser.months:
            n = sum(m.count for m in self.browser.months)
            parts.append(f"{n:,} {'item' if n == 1 else 'items'} shown")
        selected = len(self.view.selectionModel().selectedIndexes())
        if selected > 1:
            parts.append(f"{selected:,} selected")
        if snap is not None:
            parts.append(f"{format_count(snap.status.photos, 'photo')}, {format_count(snap.status.videos, 'video')}"
                         " in the library")
            if snap.status.active_model:
                parts.append(f"model {snap.status.active_model}")
        self.summary.setText("  ·  ".join(parts))

    def _write_status(self) -> None:
        """Debug/e2e aid: with MEDIASEEK_GUI_STATUS set, mirror the visible state into a JSON file."""
        if not self.status_file:
            return
        state = self.search.state
        data = {
            "pid": os.getpid(), "visible": self.isVisible(), "page": self.current_page(),
            "query": state.text, "similar": state.image, "scope": self.scope,
            "results": self.model.rowCount(), "first": self.model.results[0].path if self.model.results else None,
            "indexing": self.indexing.running, "roots": [r.path for r in self.snapshot.roots] if self.snapshot else None,
            "message": self.message_bar.text.text() if self.message_bar.isVisible() else None,
            "thumbnails": self.loader.generated, "active": self.isActiveWindow(),
            "selected": self.preview.result.path if self.preview.result else None,
            "browsing": self.model.browsing, "weaker": self.weaker_bar.count if self.weaker_bar.isVisible() else 0, "header": self.view.header_text(),
            "viewer": self.viewer.result.path if self.viewer.isVisible() and self.viewer.result else None,
            "shown_at": self._shown_wall,
        }
        tmp = f"{self.status_file}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.status_file)
        except OSError:
            log.debug("cannot write status file", exc_info=True)
        self.status_written.emit()
