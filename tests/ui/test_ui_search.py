"""Searching in the window: typing, Enter, filters, sort, cut-off, scores, paging, stale results."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import PHOTOS, wait_idle


def names(window) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in window.model.results]


def type_query(qtbot, window, text: str) -> None:
    window.search_field.setFocus()
    QTest.keyClicks(window.search_field, text)


def test_typing_searches_after_a_pause_and_shows_the_grid(qtbot, make_window, indexed, library):
    window = make_window()
    wait_idle(qtbot, window)
    assert window.current_page() == "results" and window.model.browsing  # no query: the library, newest first
    type_query(qtbot, window, "a red square")
    assert window.model.browsing  # debounced: nothing searched yet while typing
    qtbot.waitUntil(lambda: not window.model.browsing and window.model.rowCount() == len(PHOTOS), timeout=10_000)
    assert window.current_page() == "results"
    expected = [r.path for r in library.search("a red square")]
    assert [r.path for r in window.model.results] == expected[: len(PHOTOS)]
    assert f"{len(PHOTOS)} results" in window.summary.text()


def test_enter_searches_at_once_and_escape_clears(qtbot, make_window, indexed):
    window = make_window(sync=True)
    window.search_field.setFocus()
    window.search_field.setText("stripes")
    QTest.keyClick(window.search_field, Qt.Key.Key_Return)
    assert window.model.rowCount() == len(PHOTOS)  # no debounce wait with Enter
    QTest.keyClick(window.search_field, Qt.Key.Key_Escape)
    assert window.search_field.text() == "" and window.model.browsing and window.model.rowCount() == len(PHOTOS)
    assert window.current_page() == "results"


def test_filters_type_dates_and_cutoff(qtbot, make_window, indexed):
    window = make_window(sync=True)
    window.search.submit("photo")
    assert window.model.rowCount() == 5
    window.filter_bar.set_dates(date(2021, 1, 1), date(2021, 12, 31))
    assert sorted(names(window)) == ["blue.jpg", "red.jpg"]
    window.filter_bar.set_kind("video")
    assert window.model.rowCount() == 0 and window.current_page() == "no-results"
    assert "only videos" in window.empty_page.text.text()
    window.empty_page.button.click()  # "Clear Filters"
    assert window.model.rowCount() == 5
    window.filter_bar.set_cutoff(100)  # the slider: only the best match
    qtbot.waitUntil(lambda: window.search.state.strength == 1.0, timeout=5000)
    assert window.model.rowCount() == 1 and window.filter_bar.cutoff_value.text() == "≥ 100 %"
    assert window.weaker_bar.isVisible() and "4 weaker matches" in window.weaker_bar.label.text()
    window.search.submit("photos")  # rewording the same search keeps the user's cut-off
    assert window.search.state.strength == 1.0
    window.clear_search()
    window.search.submit("another query")  # a new search starts from the rule again
    assert window.search.state.strength is None and window.model.rowCount() == 5


def test_the_cut_off_hides_weak_matches_and_show_reveals_them(qtbot, make_window, indexed, tmp_path):
    from app import relevance
    from tests.media import save_jpeg, scene

    window = make_window(sync=True, every_match=False)
    query = save_jpeg(tmp_path / "query" / "red-again.jpg", scene("red", seed=1))  # the same picture as red.jpg
    window.search_similar(str(query))
    ranked = window.search.ranked
    assert len(ranked) == len(PHOTOS) and names(window)[0] == "red.jpg"
    strong = relevance.split([r.score for r in ranked], window.search.profile)
    assert window.model.rowCount() == strong < len(PHOTOS)  # only what stands out
    weaker = len(PHOTOS) - strong
    assert window.weaker_bar.isVisible() and f"{weaker} weaker" in window.weaker_bar.label.text()
    assert window.filter_bar.cutoff_value.text() == f"≥ {round(window.search.cut_strength() * 100)} %"
    window.weaker_bar.button.click()  # "Show"
    assert window.model.rowCount() == len(PHOTOS) and window.weaker_bar.button.text() == "Hide"
    window.weaker_bar.button.click()
    assert window.model.rowCount() == strong
    assert window.model.score_text(window.model.results[0]) == "strong · 100 %"  # no raw numbers


def test_sorting_by_date_orders_the_whole_set_and_a_new_search_starts_at_best_match(qtbot, make_window, indexed):
    window = make_window(sync=True)
    window.search.page_size = 2  # the set shown is not a page: sorting covers all of it
    window.search.submit("anything")
    window.filter_bar.set_sort("newest")
    assert names(window) == ["stripes.jpg", "blue.jpg", "red.jpg", "gradient.jpg", "checker.jpg"]
    assert window.model.sectioned and window.view.header_text() == "January 2023"
    window.clear_search()
    window.search.submit("something else")
    assert window.search.state.sort == "relevance" and window.filter_bar.sort.currentData() == "relevance"
    window.filter_bar.set_sort("oldest")
    window.search_similar(window.model.results[0].path)  # find similar always starts at best match
    assert window.search.state.sort == "relevance"
    scores = [r.score for r in window.model.results]
    assert scores == sorted(scores, reverse=True)


def test_sort_by_date_and_score_badges(qtbot, make_window, indexed):
    window = make_window(sync=True)
    window.search.submit("anything")
    window.filter_bar.set_sort("newest")
    assert names(window) == ["stripes.jpg", "blue.jpg", "red.jpg", "gradient.jpg", "checker.jpg"]
    window.filter_bar.set_sort("oldest")
    assert names(window)[0] == "checker.jpg"
    window.filter_bar.set_sort("relevance")
    scores = [r.score for r in window.model.results]
    assert scores == sorted(scores, reverse=True)
    assert not window.view.delegate.show_scores
    window.filter_bar.scores.setChecked(True)
    assert window.view.delegate.show_scores and window.scores_action.isChecked()


def test_a_late_result_for_an_old_query_is_dropped(qtbot, make_window, indexed):
    window = make_window()
    wait_idle(qtbot, window)
    window.search.submit("first query")
    stale_generation = window.search.generation
    window.search.submit("second query")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10_000)
    wait_idle(qtbot, window)
    received = []
    window.search.results_ready.connect(lambda results, more: received.append(results))
    window.search._done(stale_generation, [], None)  # what a slow old search would deliver
    assert received == [] and window.model.rowCount() == 5 and window.search.state.text == "second query"


def test_thumbnails_are_generated_lazily_for_visible_rows(qtbot, make_window, indexed):
    window = make_window()
    wait_idle(qtbot, window)
    window.search.submit("anything")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10_000)
    window.view.viewport().repaint()
    qtbot.waitUntil(lambda: window.loader.generated >= 1, timeout=10_000)
    key = window.model.thumb_key(window.model.results[0])
    qtbot.waitUntil(lambda: window.loader.pixmap(key) is not None, timeout=10_000)
    assert window.loader.pixmap(key).width() <= key.px
    assert key.px == window.view.thumb_pixels()
    cached = list((window.library.paths.thumbnails / "files").rglob("*.jpg"))
    assert cached  # on disk, under the app's cache, for the next start
