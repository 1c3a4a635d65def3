"""Browsing without a query: the library (or a folder) newest first under month headers."""
from __future__ import annotations

import os

from tests.ui.conftest import PHOTOS, wait_idle


def names(window) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in window.model.results]


NEWEST_FIRST = ["stripes.jpg", "blue.jpg", "red.jpg", "gradient.jpg", "checker.jpg"]


def test_no_query_shows_the_library_newest_first_under_month_headers(qtbot, make_window, indexed):
    window = make_window()
    wait_idle(qtbot, window)
    assert window.current_page() == "results" and window.model.browsing
    assert names(window) == NEWEST_FIRST
    assert window.view.header.isVisible() and window.view.header.text() == "January 2023"
    from ui.results_model import SectionRole, SectionStartRole

    starts = [window.model.index(r).data(SectionStartRole) for r in range(len(PHOTOS))]
    assert starts == [True, True, False, True, True]  # July 2021 holds two photos
    assert window.model.index(1).data(SectionRole) == "July 2021"
    assert "5 items" in window.summary.text()
    assert not window.view.delegate.show_scores or window.view.delegate.browsing  # browsing shows no scores


def test_a_folder_click_shows_that_folder_with_or_without_subfolders(qtbot, make_window, indexed):
    window = make_window(sync=True)
    beach = str(indexed / "beach")
    window.sidebar.tree.setCurrentIndex(window.sidebar._items[beach].index())  # what a click does
    assert window.scope == beach and window.model.browsing
    assert names(window) == ["blue.jpg", "red.jpg"]
    window.set_scope(str(indexed))
    assert window.filter_bar.subfolders.isVisible() and len(names(window)) == 5
    window.filter_bar.subfolders.setChecked(False)
    assert names(window) == ["gradient.jpg"]
    window.search.fixed_strength = 0.0  # every match, so only the scope limits what is shown
    window.search.submit("anything")  # without subfolders, a query searches only the folder itself
    assert not window.model.browsing and names(window) == ["gradient.jpg"]
    window.clear_search()
    window.filter_bar.subfolders.setChecked(True)
    window.search.submit("anything")  # a query searches inside what is browsed
    assert not window.model.browsing and all(r.path.startswith(str(indexed) + os.sep) for r in window.model.results)
    window.clear_search()
    assert window.model.browsing and len(names(window)) == 5


def test_filters_apply_to_browsing_and_an_empty_scope_says_why(qtbot, make_window, indexed):
    from datetime import date

    window = make_window(sync=True)
    window.filter_bar.set_dates(date(2021, 1, 1), date(2021, 12, 31))
    assert names(window) == ["blue.jpg", "red.jpg"]
    window.filter_bar.set_kind("video")
    assert window.model.rowCount() == 0 and window.current_page() == "no-results"
    assert "only videos" in window.empty_page.text.text()
    window.empty_page.button.click()
    assert names(window) == NEWEST_FIRST
    window.filter_bar.set_sort("oldest")
    assert names(window) == NEWEST_FIRST[::-1]


def test_jump_to_a_month(qtbot, make_window, indexed):
    window = make_window(sync=True)
    window.view.resize(300, 200)
    menu = window.filter_bar.jump.menu()
    labels = [a.text() for a in menu.actions()]
    assert labels == ["January 2023  (1)", "July 2021  (2)", "May 2020  (1)", "March 2019  (1)"]
    assert window.filter_bar.jump.isVisible()
    menu.actions()[3].trigger()
    assert window.view.currentIndex().row() == 4 and window.preview.result.path.endswith("checker.jpg")


def test_paging_reads_more_as_the_view_scrolls(qtbot, make_window, indexed, monkeypatch):
    import ui.browse

    monkeypatch.setattr(ui.browse, "PAGE", 2)
    window = make_window(sync=True)
    assert names(window) == NEWEST_FIRST[:2] and window.model.canFetchMore()
    window.jump_to_row(4)  # a month further down: read up to it
    assert names(window) == NEWEST_FIRST and window.view.currentIndex().row() == 4


def test_the_order_box_shows_the_browse_order_and_keeps_it_across_a_search(qtbot, make_window, indexed):
    window = make_window(sync=True)
    sort = window.filter_bar.sort
    best = sort.model().item(sort.findData("relevance"))
    assert sort.currentData() == "newest" and not best.isEnabled()  # browsing has no "Best match"
    window.filter_bar.set_sort("oldest")
    assert names(window) == NEWEST_FIRST[::-1]
    window.search.submit("anything")
    assert sort.currentData() == "relevance" and best.isEnabled()  # a search starts at best match
    window.clear_search()
    assert window.model.browsing and sort.currentData() == "oldest" and names(window) == NEWEST_FIRST[::-1]
