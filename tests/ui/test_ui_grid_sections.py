"""The grid's day sections: each day on new rows under its header, each month under its title,
the title of the month at the top pinned and pushed up by the next; a plain grid when sorted by
relevance. Pure layout tests first (no Qt), then the real window on the indexed photos."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import numpy as np
from PySide6.QtCore import QEvent, QItemSelectionModel, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ui.grid_layout import NO_DATE, GridLayout, Metrics, date_keys, day_title, month_title

M = Metrics(columns=4, cell_w=100, cell_h=120, day_h=20, month_h=40, left=2)


def epoch(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def layout_of(dates, metrics=M) -> GridLayout:
    days, months = date_keys(dates)
    return GridLayout(len(dates), metrics, days, months)


# -- pure layout ---------------------------------------------------------------------------
def test_each_day_starts_a_row_under_its_header_and_each_month_under_its_title():
    dates = [epoch(2021, 7, 15, 12)] * 3 + [epoch(2021, 7, 14, 9)] * 6 + [epoch(2021, 6, 30, 8)] + [None] * 2
    lay = layout_of(dates)
    x, y = lay.item_xy()
    assert list(lay.section_first) == [0, 3, 9, 10]
    assert list(lay.month_start) == [True, False, True, True]  # July, (July), June, no date
    assert y[0] == 40 + 20 and list(x[:3]) == [2, 102, 202]  # July title, day header, first row
    assert y[3] == y[0] + 120 + 20 and x[3] == 2  # a new day: a new row under a day header
    assert y[7] == y[3] + 120 and x[7] == 2  # the day's second row (4 columns)
    assert y[9] == y[7] + 120 + 40 + 20  # June: its title and its day header
    assert y[10] == y[9] + 120 + 40  # no date: a title, no day header
    assert lay.height == y[10] + 120
    assert lay.item_at(x[4] + 5, y[4] + 5) == 4
    assert lay.item_at(x[0] + 5, y[3] - 10) == -1  # in the day header between the days
    assert lay.item_at(302 + 5, y[0] + 5) == -1  # after the short row's last cell
    assert lay.item_at(x[0] + 5, 10) == -1  # in the month title


def test_without_sections_it_is_a_uniform_grid():
    lay = GridLayout(10, M)
    x, y = lay.item_xy()
    assert list(y) == [0] * 4 + [120] * 4 + [240] * 2 and list(x[:4]) == [2, 102, 202, 302]
    assert lay.height == 360 and not lay.sectioned and lay.pinned_month(100) == (-1, 0)


def test_arrows_move_by_row_across_sections_in_the_same_column():
    dates = [epoch(2021, 7, 15)] * 3 + [epoch(2021, 7, 14)] * 5
    lay = layout_of(dates)
    assert lay.step_row(2, 1) == 5  # column 2 of the next day's first row
    assert lay.step_row(6, 1) == 7  # the next row is shorter: its last item
    assert lay.step_row(7, -1) == 3 and lay.step_row(4, -1) == 1
    assert lay.step_row(1, -1) == 1 and lay.step_row(7, 1) == 7  # the ends stay


def test_pinned_month_is_pushed_up_by_the_next_title():
    dates = [epoch(2021, 7, 15)] * 8 + [epoch(2021, 6, 1)] * 4
    lay = layout_of(dates)
    june = int(lay.month_y[1])
    assert lay.pinned_month(0) == (0, 0) and lay.pinned_month(june - 100) == (0, 0)
    assert lay.pinned_month(june - 10) == (0, -30)  # June's title arrives 10 px under July's 40
    assert lay.pinned_month(june) == (1, 0)


def test_rows_in_a_band_and_items_in_a_rectangle():
    dates = [epoch(2021, 7, 15)] * 3 + [epoch(2021, 7, 14)] * 5
    lay = layout_of(dates)
    _, y = lay.item_xy()
    assert list(lay.rows_in(0, 1)) == []  # only the title and the header
    assert list(lay.rows_in(y[0], y[0] + 1)) == [0]
    assert lay.items_in(110, y[0] + 5, 215, y[3] + 5) == [(1, 2), (4, 5)]


def test_a_hundred_thousand_items_lay_out_fast():
    rng = np.random.default_rng(0)
    dates = list(1.6e9 - np.sort(rng.random(100_000)) * 3e8)
    days, months = date_keys(dates)
    started = time.perf_counter()
    lay = GridLayout(100_000, M, days, months)
    elapsed = time.perf_counter() - started
    x, y = lay.item_xy()
    assert np.all(np.diff(y) >= 0) and lay.item_at(x[-1] + 5, y[-1] + 5) == 99_999
    assert elapsed < 0.5  # about 5 ms here; generous for a busy machine


def test_headers_name_the_day_and_the_month():
    days, months = date_keys([epoch(2021, 7, 14, 10)])
    assert day_title(int(days[0]), this_year=2021) == "Wednesday 14 July"
    assert day_title(int(days[0]), this_year=2024) == "Wednesday 14 July 2021"
    assert month_title(int(months[0])) == "July 2021" and month_title(NO_DATE) == "No date"


def test_date_keys_are_utc_days_and_months():
    days, months = date_keys([epoch(1970, 1, 2, 23, 59), None, epoch(2021, 7, 15)])
    assert list(days[:2]) == [1, NO_DATE] and list(months[:2]) == [0, NO_DATE]
    assert months[2] == (2021 - 1970) * 12 + 6


# -- the window ----------------------------------------------------------------------------
def names(window) -> list[str]:
    return [os.path.basename(r.path) for r in window.model.results]


def row_of(window, name: str) -> int:
    return names(window).index(name)


def settle(qtbot, window, width=1400, height=800, thumbs=96) -> None:
    window.resize(width, height)
    window.set_thumb_size(thumbs)
    qtbot.wait(50)
    QApplication.processEvents()


def test_two_days_of_one_month_are_on_different_rows_with_a_header_between(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window)
    view = window.view
    assert view.layout_.columns >= 5  # all five would fit on one row of a plain grid
    blue, red = (view.visualRect(window.model.index(row_of(window, n))) for n in ("blue.jpg", "red.jpg"))
    pitch = view.layout_.m.cell_h
    assert blue.x() == red.x() and red.y() - blue.y() == pitch + view.day_h  # 15 then 14 July: a day header
    stripes = view.visualRect(window.model.index(0))
    assert blue.y() - stripes.y() == pitch + view.month_h + view.day_h  # January 2023, then July 2021
    # a click in the day header between them hits nothing
    assert not view.indexAt(QPoint(blue.center().x(), red.y() - view.day_h // 2)).isValid()
    assert view.indexAt(red.center()).row() == row_of(window, "red.jpg")
    assert not view.indexAt(QPoint(stripes.center().x(), view.month_h // 2)).isValid()  # the pinned title


def test_the_month_title_stays_pinned_and_is_pushed_by_the_next(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window, 900, 520)
    view, bar = window.view, window.view.verticalScrollBar()
    lay = view.layout_
    july = int(lay.month_y[1])
    assert bar.maximum() > july  # there is something to scroll
    bar.setValue(july - view.month_h - 30)  # inside January 2023, below its title
    assert view.header.isVisible() and view.header_text() == "January 2023" and view.header.y() == 0
    bar.setValue(july - view.month_h // 2)  # July's title arrives: January's is pushed up by half
    assert view.header_text() == "January 2023" and view.header.y() == -(view.month_h // 2)
    bar.setValue(july + 10)
    assert view.header_text() == "July 2021" and view.header.y() == 0
    assert view.header.text() == "July 2021"
    top = view.indexAt(QPoint(20, view.month_h + 5))  # what shows right under the pinned title
    assert not top.isValid() or top.row() >= row_of(window, "blue.jpg")


def test_jump_to_a_month_puts_its_title_at_the_top(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window, 900, 520)
    view = window.view
    menu = window.filter_bar.jump.menu()
    menu.actions()[2].trigger()  # May 2020
    may = view.layout_.section_of(row_of(window, "gradient.jpg"))
    assert view.layout_.month_start[may]
    assert view.verticalScrollBar().value() == view.layout_.top_of_section(may)
    assert view.header_text() == "May 2020" and view.header.y() == 0
    assert view.currentIndex().row() == row_of(window, "gradient.jpg")
    assert view.visualRect(view.currentIndex()).top() == view.month_h + view.day_h  # title, day, the photo


def test_arrow_keys_cross_sections(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window)
    view = window.view
    view.setFocus()
    view.selectionModel().setCurrentIndex(window.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    QTest.keyClick(view, Qt.Key.Key_Down)
    assert names(window)[view.currentIndex().row()] == "blue.jpg"  # the next day's row
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert names(window)[view.currentIndex().row()] == "red.jpg"  # reading order runs on into the next day
    QTest.keyClick(view, Qt.Key.Key_Up)
    assert names(window)[view.currentIndex().row()] == "blue.jpg"
    QTest.keyClick(view, Qt.Key.Key_End)
    assert view.currentIndex().row() == 4
    QTest.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 0
    QTest.keyClick(view, Qt.Key.Key_PageDown)  # a page further: several days down, in view
    page = view.currentIndex().row()
    shown = view.visualRect(view.currentIndex())
    assert page >= 2 and shown.top() >= view.month_h and shown.bottom() <= view.viewport().height()
    QTest.keyClick(view, Qt.Key.Key_PageUp)
    assert view.currentIndex().row() < page


def test_shift_click_and_shift_arrow_select_in_reading_order(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window)
    view = window.view
    rect = lambda row: view.visualRect(window.model.index(row))  # noqa: E731
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect(1).center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, rect(3).center())
    assert sorted(i.row() for i in view.selectionModel().selectedIndexes()) == [1, 2, 3]
    QTest.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert sorted(i.row() for i in view.selectionModel().selectedIndexes()) == [1, 2, 3, 4]
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect(4).center())
    assert [i.row() for i in view.selectionModel().selectedIndexes()] == [4]
    # in a plain grid, from the end of a row to the start of the next: those two, not a rectangle
    window.search.submit("anything")
    settle(qtbot, window, 1400, 800, thumbs=320)
    cols = view.layout_.columns
    assert 2 <= cols <= 4 and not view.layout_.sectioned
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect(cols - 1).center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     rect(cols).center())
    assert sorted(i.row() for i in view.selectionModel().selectedIndexes()) == [cols - 1, cols]
    QTest.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)  # back above the anchor
    assert sorted(i.row() for i in view.selectionModel().selectedIndexes()) == list(range(cols))


def send_mouse(widget, kind, pos: QPoint, buttons) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_a_rubber_band_from_a_header_selects_what_it_touches(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window)
    view = window.view
    port = view.viewport()
    blue, red = (view.visualRect(window.model.index(row_of(window, n))) for n in ("blue.jpg", "red.jpg"))
    start = QPoint(blue.right() + 40, blue.top() - view.day_h // 2)  # in July's day header, right of the text
    assert not view.indexAt(start).isValid()
    left = Qt.MouseButton.LeftButton
    send_mouse(port, QEvent.Type.MouseButtonPress, start, left)
    send_mouse(port, QEvent.Type.MouseMove, QPoint(blue.center().x(), blue.center().y()), left)
    assert [i.row() for i in view.selectionModel().selectedIndexes()] == [row_of(window, "blue.jpg")]
    send_mouse(port, QEvent.Type.MouseMove, QPoint(red.center().x(), red.center().y()), left)
    send_mouse(port, QEvent.Type.MouseButtonRelease, QPoint(red.center().x(), red.center().y()),
               Qt.MouseButton.NoButton)
    assert sorted(names(window)[i.row()] for i in view.selectionModel().selectedIndexes()) == ["blue.jpg", "red.jpg"]


def test_an_appended_page_keeps_the_scroll_position_and_the_selection(qtbot, make_window, indexed, monkeypatch):
    import ui.browse

    monkeypatch.setattr(ui.browse, "PAGE", 2)
    window = make_window(sync=True)
    settle(qtbot, window, 900, 420, thumbs=320)
    view, bar = window.view, window.view.verticalScrollBar()
    assert window.model.rowCount() == 2 and bar.maximum() > 40
    view.selectionModel().setCurrentIndex(window.model.index(1), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    bar.setValue(bar.maximum() // 2)
    value, top = bar.value(), view.indexAt(QPoint(60, view.month_h + 60)).row()
    window.browser.fetch_more()
    assert window.model.rowCount() > 2 and view.layout_.n == window.model.rowCount()
    assert bar.value() == value and view.indexAt(QPoint(60, view.month_h + 60)).row() == top
    assert [i.row() for i in view.selectionModel().selectedIndexes()] == [1] and view.currentIndex().row() == 1


def test_sorted_by_relevance_it_is_a_plain_grid(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window)
    window.search.submit("anything")
    assert window.filter_bar.sort.currentData() == "relevance" and not window.model.sectioned
    view = window.view
    assert not view.header.isVisible() and view.header_text() is None and not view.layout_.sectioned
    rects = [view.visualRect(window.model.index(r)) for r in range(window.model.rowCount())]
    assert len({r.y() for r in rects}) == 1  # five on one row, no headers
    assert [r.x() for r in rects] == sorted(r.x() for r in rects)
    pitch = rects[1].x() - rects[0].x()
    assert all(b.x() - a.x() == pitch for a, b in zip(rects, rects[1:]))
    window.filter_bar.set_sort("newest")  # the same search by date: sections again
    assert window.model.sectioned and view.layout_.sectioned and view.header_text() == "January 2023"
    assert len({view.visualRect(window.model.index(r)).y() for r in range(5)}) == 5


def test_a_wider_window_keeps_the_top_item_and_cells_fill_the_row(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window, 900, 520)
    view = window.view
    window.set_thumb_size(128)
    lay = view.layout_
    used = lay.m.left + lay.columns * lay.m.cell_w
    reserve = view.verticalScrollBar().sizeHint().width()
    assert view.viewport().width() - used <= reserve + 2 * lay.m.left + lay.columns  # no ragged gap on the right
    red = window.model.index(row_of(window, "red.jpg"))
    view.scrollTo(red, view.ScrollHint.PositionAtTop)
    y = view.visualRect(red).y()
    window.set_thumb_size(192)
    assert view.visualRect(red).y() == y  # the item at the top stays there


def test_the_item_under_the_mouse_is_painted_hovered(qtbot, make_window, indexed, monkeypatch):
    from PySide6.QtWidgets import QStyle

    window = make_window(sync=True)
    settle(qtbot, window)
    view = window.view
    painted = {}
    paint = view.delegate.paint

    def record(painter, option, index):
        painted[index.row()] = bool(option.state & QStyle.StateFlag.State_MouseOver)
        paint(painter, option, index)

    monkeypatch.setattr(view.delegate, "paint", record)
    red = row_of(window, "red.jpg")
    send_mouse(view.viewport(), QEvent.Type.MouseMove, view.visualRect(window.model.index(red)).center(),
               Qt.MouseButton.NoButton)
    view.viewport().repaint()
    assert [row for row, hovered in painted.items() if hovered] == [red]
    QApplication.sendEvent(view.viewport(), QEvent(QEvent.Type.Leave))
    painted.clear()
    view.viewport().repaint()
    assert painted and not any(painted.values())


def test_a_rubber_band_at_the_bottom_edge_scrolls_on(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window, 900, 420, thumbs=160)
    view, bar, port = window.view, window.view.verticalScrollBar(), window.view.viewport()
    assert bar.maximum() > 0 and bar.value() == 0
    left = Qt.MouseButton.LeftButton
    start = QPoint(port.width() - 10, view.month_h + view.day_h // 2)  # the first day header's right end
    assert not view.indexAt(start).isValid()
    send_mouse(port, QEvent.Type.MouseButtonPress, start, left)
    edge = QPoint(40, port.height() - 2)
    QTest.mouseMove(port, edge)  # where Qt's auto-scroll reads the cursor
    send_mouse(port, QEvent.Type.MouseMove, edge, left)
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=3000)
    send_mouse(port, QEvent.Type.MouseButtonRelease, edge, Qt.MouseButton.NoButton)
    assert len(view.selectionModel().selectedIndexes()) >= 1


def test_removed_rows_close_up_and_leave_a_header_only_with_its_day(qtbot, make_window, indexed):
    window = make_window(sync=True)
    settle(qtbot, window)
    view = window.view
    blue_top = view.visualRect(window.model.index(row_of(window, "blue.jpg"))).top()
    window.model.remove_paths([str(indexed / "beach" / "blue.jpg")])
    assert view.layout_.n == 4 and "blue.jpg" not in names(window)
    red = view.visualRect(window.model.index(row_of(window, "red.jpg")))
    assert red.top() == blue_top  # red's day takes the place of blue's, under July's title
    assert view.layout_.month_start[view.layout_.section_of(row_of(window, "red.jpg"))]
