"""What the user is searching for, and getting the results for it off the GUI thread.

``SearchController`` holds the query state (text or a picture for "find similar", scope, filters,
cut-off, sort order), debounces typing, runs ``Library.search``/``similar`` on the interactive
pool and emits the results. Each run gets a generation number; a result that comes back after the
query changed again is dropped, so results never arrive out of order.

Results come in pages: the first is small so it appears at once; scrolling to the end asks for a
larger top-k (the ranking is deterministic, so the new list starts with the old one and the view
just grows). Date order sorts what was fetched.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import date

from PySide6.QtCore import QObject, QTimer, Signal

from app.library import Library, SearchFilters, SearchResult

log = logging.getLogger(__name__)

FIRST_PAGE = 240
MAX_RESULTS = 100_000
DEBOUNCE_MS = 250


@dataclass(frozen=True)
class SearchState:
    text: str = ""
    image: str | None = None  # "find similar" to this file
    scope: str | None = None
    kind: str | None = None  # 'photo' | 'video'
    after: date | None = None
    before: date | None = None
    min_score: float | None = None
    sort: str = "relevance"  # 'relevance' | 'newest' | 'oldest'

    @property
    def has_query(self) -> bool:
        return bool(self.text.strip()) or self.image is not None


class SearchController(QObject):
    results_ready = Signal(object, bool)  # list[SearchResult], more available
    cleared = Signal()  # nothing to search for
    failed = Signal(str)
    busy_changed = Signal(bool)
    state_changed = Signal(object)  # SearchState

    def __init__(self, library: Library, runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.state = SearchState()
        self.generation = 0
        self.page_size = FIRST_PAGE
        self.limit = FIRST_PAGE
        self.results: list[SearchResult] = []
        self.busy = False
        self.last_latency_ms: float | None = None  # trigger (debounce end / Enter) to results
        self._started = 0.0
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run)

    # -- changing the query ----------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Search as the user types, once typing pauses."""
        if text == self.state.text and self.state.image is None:
            return
        self._update(text=text, image=None)
        self._debounce.start()

    def submit(self, text: str | None = None) -> None:
        """Enter: search now."""
        if text is not None and (text != self.state.text or self.state.image is not None):
            self._update(text=text, image=None)
        self._debounce.stop()
        self.run()

    def set_similar(self, path: str | None) -> None:
        self._update(image=path, text="" if path else self.state.text)
        self._debounce.stop()
        self.run()

    def set_scope(self, folder: str | None) -> None:
        if folder != self.state.scope:
            self._update(scope=folder)
            self._rerun()

    def set_filters(self, kind: str | None = None, after: date | None = None, before: date | None = None) -> None:
        if (kind, after, before) != (self.state.kind, self.state.after, self.state.before):
            self._update(kind=kind, after=after, before=before)
            self._rerun()

    def set_min_score(self, value: float | None) -> None:
        if value != self.state.min_score:
            self._update(min_score=value)
            self._rerun()

    def set_sort(self, sort: str) -> None:
        if sort != self.state.sort:
            self._update(sort=sort)
            if self.results:
                self.results = self._sorted(self.results)
                self.results_ready.emit(self.results, self._more_available(self.results))

    def clear(self) -> None:
        self._update(text="", image=None)
        self._debounce.stop()
        self.run()

    def _update(self, **changes) -> None:
        self.state = replace(self.state, **changes)
        self.state_changed.emit(self.state)

    def _rerun(self) -> None:
        if self.state.has_query and not self._debounce.isActive():
            self.run()

    # -- running ---------------------------------------------------------------------------
    def run(self, limit: int | None = None) -> None:
        self.generation += 1
        self.limit = limit or self.page_size
        state = self.state
        if not state.has_query:
            self.results = []
            self._set_busy(False)
            self.cleared.emit()
            return
        generation = self.generation
        filters = SearchFilters(folder=state.scope, kind=state.kind, after=state.after, before=state.before,
                                limit=self.limit, min_score=state.min_score)
        library = self.library
        if state.image is not None:
            job = lambda: library.similar(state.image, filters)  # noqa: E731
        else:
            job = lambda: library.search(state.text, filters)  # noqa: E731
        self._started = time.perf_counter()
        self._set_busy(True)
        self.runner.submit(job, lambda result, error: self._done(generation, result, error),
                           pool="interactive", coalesce="search")

    def fetch_more(self) -> None:
        """The view reached the end: ask for a larger top-k of the same query."""
        if self.state.has_query and self.limit < MAX_RESULTS:
            self.run(min(MAX_RESULTS, self.limit * 5))

    def refresh(self) -> None:
        """Run the current query again (new files were indexed); keeps the page size."""
        if self.state.has_query:
            self.run(self.limit)

    def _done(self, generation: int, results: list[SearchResult] | None, error: BaseException | None) -> None:
        if generation != self.generation:
            return  # the query changed while this one ran
        self._set_busy(False)
        if error is not None:
            self.failed.emit(str(error) or type(error).__name__)
            return
        self.last_latency_ms = (time.perf_counter() - self._started) * 1000
        self.results = self._sorted(results or [], ranked=True)  # the engine ranks best first
        self.results_ready.emit(self.results, self._more_available(self.results))

    def _more_available(self, results: list[SearchResult]) -> bool:
        return len(results) >= self.limit and self.limit < MAX_RESULTS

    def _sorted(self, results: list[SearchResult], ranked: bool = False) -> list[SearchResult]:
        if self.state.sort == "relevance":
            return list(results) if ranked else sorted(results, key=lambda r: -r.score)
        newest = self.state.sort == "newest"
        return sorted(results, key=lambda r: (r.date is None, -(r.date or 0) if newest else (r.date or 0)))

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)
