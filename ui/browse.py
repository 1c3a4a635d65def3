"""Browsing without a query: the current scope, newest first, read page by page off the GUI thread.

``BrowseController`` mirrors ``SearchController``: it holds what is being browsed (folder, with or
without subfolders, photos/videos, dates, order), asks ``Library.browse`` for pages on the
interactive pool as the view scrolls, and reads the scope's month buckets for the month list.
A generation number drops pages of a scope the user already left.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from app.browse import BrowseScope, MonthBucket
from app.library import Library, SearchResult

log = logging.getLogger(__name__)

PAGE = 600


class BrowseController(QObject):
    results_ready = Signal(object, bool, bool)  # results, more available, appended (vs. a new list)
    months_ready = Signal(object)  # list[MonthBucket]
    failed = Signal(str)

    def __init__(self, library: Library, runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.scope = BrowseScope()
        self.results: list[SearchResult] = []
        self.months: list[MonthBucket] = []
        self.more = False
        self.busy = False
        self.generation = 0
        self.started = False

    def set_scope(self, **changes) -> None:
        scope = replace(self.scope, **changes)
        if scope != self.scope or not self.started:
            self.scope = scope
            self.run()

    def run(self) -> None:
        """Start over: the first page and the month list of the current scope."""
        self.generation += 1
        self.started = True
        generation, scope, library = self.generation, self.scope, self.library
        self.busy = True
        self.runner.submit(lambda: (library.browse(scope, 0, PAGE), library.browse_months(scope)),
                           lambda result, error: self._first(generation, result, error),
                           pool="interactive", coalesce="browse")

    def refresh(self) -> None:
        """New files were indexed: read again what was shown (the view keeps its place)."""
        self.run()

    def forget(self, paths) -> None:
        """Files left the library: drop them from what was read (the next page starts right)."""
        gone = set(paths)
        self.results = [r for r in self.results if r.path not in gone]

    def fetch_more(self, upto: int | None = None) -> None:
        """The view reached the end (or a jump needs row ``upto``): read the next rows."""
        if not self.more:
            return
        generation, scope, library = self.generation, self.scope, self.library
        start = len(self.results)
        count = PAGE if upto is None else max(PAGE, upto - start + PAGE)
        self.runner.submit(lambda: library.browse(scope, start, count),
                           lambda result, error: self._more(generation, start, count, result, error),
                           pool="interactive", coalesce="browse-more")

    def _first(self, generation: int, result, error: BaseException | None) -> None:
        if generation != self.generation:
            return
        self.busy = False
        if error is not None:
            self.failed.emit(str(error) or type(error).__name__)
            return
        page, months = result
        self.results = list(page)
        self.months = list(months)
        self.more = len(page) >= PAGE
        self.months_ready.emit(self.months)
        self.results_ready.emit(self.results, self.more, False)

    def _more(self, generation: int, start: int, count: int, page, error: BaseException | None) -> None:
        if generation != self.generation or start != len(self.results):
            return
        if error is not None:
            self.failed.emit(str(error) or type(error).__name__)
            return
        self.results.extend(page)
        self.more = len(page) >= count
        self.results_ready.emit(self.results, self.more, True)
