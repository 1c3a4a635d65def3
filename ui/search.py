"""What the user is searching for, and getting the results for it off the GUI thread.

``SearchController`` holds the query state (text or a picture for "find similar", scope, filters,
cut-off, sort order), debounces typing, runs ``Library.search``/``similar`` on the interactive
pool and emits the results. Each run gets a generation number; a result that comes back after the
query changed again is dropped, so results never arrive out of order.

A query reads its best ``relevance.SAMPLE`` matches at once; ``app.relevance`` measures how its
scores are spread and keeps the matches that stand out (the "strong" ones). The rest are the
"weaker matches", shown on request. Date order sorts the whole set shown. The cut-off can be
moved for this search (``set_strength``); a new search starts from the rule again, at best match.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import date

from PySide6.QtCore import QObject, QTimer, Signal

from app import relevance
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
    recursive: bool = True  # the scope's subfolders too
    kind: str | None = None  # 'photo' | 'video'
    after: date | None = None
    before: date | None = None
    min_score: float | None = None  # an absolute floor (as the CLI's --min-score); the window uses strength
    sort: str = "relevance"  # 'relevance' | 'newest' | 'oldest'
    strength: float | None = None  # the cut-off moved by the user for this search (0..1); None: the rule
    show_weak: bool = False  # the weaker matches are shown too

    @property
    def has_query(self) -> bool:
        return bool(self.text.strip()) or self.image is not None


class SearchController(QObject):
    results_ready = Signal(object, bool)  # list[SearchResult], more available
    cleared = Signal()  # nothing to search for
    failed = Signal(str)
    busy_changed = Signal(bool)
    state_changed = Signal(object)  # SearchState
    weaker_changed = Signal(int)  # matches below the cut-off (hidden unless show_weak)

    def __init__(self, library: Library, runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.state = SearchState()
        self.generation = 0
        self.page_size = FIRST_PAGE
        self.limit = FIRST_PAGE
        self.results: list[SearchResult] = []  # what is shown
        self.ranked: list[SearchResult] = []  # everything read for the query, best first
        self.profile: relevance.ScoreProfile | None = None
        self.strong = 0  # how many of ``ranked`` pass the cut-off
        self.fixed_strength: float | None = None  # replaces the rule (tests that want every match)
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
        self._update(text=text, image=None, **self._fresh(text))
        self._debounce.start()

    def submit(self, text: str | None = None) -> None:
        """Enter: search now."""
        if text is not None and (text != self.state.text or self.state.image is not None):
            self._update(text=text, image=None, **self._fresh(text))
        self._debounce.stop()
        self.run()

    def _fresh(self, text: str) -> dict:
        """A new search starts at best match, with the rule's cut-off (unless only the wording of the
        current search changes: then what the user chose for it stays)."""
        if self.state.has_query and text.strip():
            return {}
        return {"sort": "relevance", "strength": None, "show_weak": False}

    def set_similar(self, path: str | None) -> None:
        self._update(image=path, text="" if path else self.state.text, sort="relevance", strength=None,
                     show_weak=False)
        self._debounce.stop()
        self.run()

    def set_scope(self, folder: str | None) -> None:
        if folder != self.state.scope:
            self._update(scope=folder)
            self._rerun()

    def set_recursive(self, recursive: bool) -> None:
        if recursive != self.state.recursive:
            self._update(recursive=recursive)
            if self.state.scope:
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
            if self.ranked:
                self._publish()

    def set_strength(self, strength: float | None) -> None:
        """Move the cut-off for this search (0..1, as shown in percent); None: back to the rule."""
        if strength != self.state.strength:
            self._update(strength=strength)
            if self.ranked:
                self._publish()

    def set_show_weak(self, show: bool) -> None:
        if show != self.state.show_weak:
            self._update(show_weak=show)
            if self.ranked:
                self._publish()

    def forget(self, paths) -> None:
        """Files left the library (trashed, moved away): drop them without searching again."""
        gone = set(paths)
        self.strong -= sum(1 for r in self.ranked[: self.strong] if r.path in gone)
        self.ranked = [r for r in self.ranked if r.path not in gone]
        self.results = [r for r in self.results if r.path not in gone]
        if self.ranked:
            self.weaker_changed.emit(len(self.ranked) - self.strong)

    def cut_strength(self) -> float:
        """The cut-off in force, as a strength (0..1)."""
        if self.state.strength is not None:
            return self.state.strength
        if self.fixed_strength is not None:
            return self.fixed_strength
        return self.profile.default_strength() if self.profile else 0.0

    def strength_of(self, result: SearchResult) -> float:
        return self.profile.strength(result.score) if self.profile else 0.0

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
            self.results, self.ranked, self.profile, self.strong = [], [], None, 0
            self._set_busy(False)
            self.cleared.emit()
            return
        generation = self.generation
        filters = SearchFilters(folder=state.scope, recursive=state.recursive, kind=state.kind, after=state.after, before=state.before,
                                limit=max(self.limit, relevance.SAMPLE), min_score=state.min_score)
        library = self.library

        def job():
            found = library.similar(state.image, filters) if state.image is not None else library.search(
                state.text, filters)
            return found, relevance.profile([r.score for r in found[: relevance.SAMPLE]], *_logit_params(library))
        self._started = time.perf_counter()
        self._set_busy(True)
        self.runner.submit(job, lambda result, error: self._done(generation, result, error),
                           pool="interactive", coalesce="search")

    def fetch_more(self) -> None:
        """The view reached the end of the weaker matches: ask for a larger top-k of the same query."""
        if self.state.has_query and self._more_available(self.results):
            self.run(min(MAX_RESULTS, max(self.limit, relevance.SAMPLE) * 5))

    def refresh(self) -> None:
        """Run the current query again (new files were indexed); keeps the page size."""
        if self.state.has_query:
            self.run(self.limit)

    def _done(self, generation: int, found, error: BaseException | None) -> None:
        if generation != self.generation:
            return  # the query changed while this one ran
        self._set_busy(False)
        if error is not None:
            self.failed.emit(str(error) or type(error).__name__)
            return
        self.last_latency_ms = (time.perf_counter() - self._started) * 1000
        if isinstance(found, list):  # a plain result list (tests feeding a late answer)
            found = (found, relevance.profile([r.score for r in found]))
        self.ranked, self.profile = list(found[0] or []), found[1]  # the engine ranks best first
        self._publish()

    def _publish(self) -> None:
        """Split what was read at the cut-off, sort what is shown, tell the window."""
        ranked = self.ranked
        self.strong = relevance.split([r.score for r in ranked], self.profile, self.cut_strength()) \
            if self.profile else len(ranked)
        shown = ranked if self.state.show_weak else ranked[: self.strong]
        self.results = self._sorted(shown, ranked=True)
        self.weaker_changed.emit(len(ranked) - self.strong)
        self.results_ready.emit(self.results, self._more_available(self.results))

    def _more_available(self, results: list[SearchResult]) -> bool:
        """Only the weaker matches can run past what was read."""
        return self.state.show_weak and len(self.ranked) >= max(self.limit, relevance.SAMPLE) \
            and self.limit < MAX_RESULTS

    def _sorted(self, results: list[SearchResult], ranked: bool = False) -> list[SearchResult]:
        if self.state.sort == "relevance":
            return list(results) if ranked else sorted(results, key=lambda r: -r.score)
        newest = self.state.sort == "newest"
        return sorted(results, key=lambda r: (r.date is None, -(r.date or 0) if newest else (r.date or 0)))

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)


def _logit_params(library: Library) -> tuple[float | None, float | None]:
    """A sigmoid model's (logit_scale, logit_bias) from its manifest, else (None, None)."""
    import json

    try:
        name = library.serving_model()
        data = json.loads((library.models.dir_of(name) / "manifest.json").read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - no parameters is the common case
        return None, None
    scale, bias = data.get("logit_scale"), data.get("logit_bias")
    if isinstance(scale, (int, float)) and isinstance(bias, (int, float)):
        return float(scale), float(bias)
    return None, None
