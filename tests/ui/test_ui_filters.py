"""Filters that work: dates typed in common formats, presets, chips that clear, a calendar that
opens in the library's dates; the preview pane can be hidden; a sidebar right-click keeps the scope."""
from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ui.dates import DateError, describe, parse_range


def names(window) -> list[str]:
    return sorted(r.path.rsplit("/", 1)[-1] for r in window.model.results)


@pytest.mark.parametrize("text, expected", [
    ("2023-01-01", (date(2023, 1, 1), date(2023, 1, 1))),
    ("2023", (date(2023, 1, 1), date(2023, 12, 31))),
    ("March 2023", (date(2023, 3, 1), date(2023, 3, 31))),
    ("mar 2023", (date(2023, 3, 1), date(2023, 3, 31))),
    ("2023-02", (date(2023, 2, 1), date(2023, 2, 28))),
    ("14 July 2021", (date(2021, 7, 14), date(2021, 7, 14))),
    ("31/1/2023", (date(2023, 1, 31), date(2023, 1, 31))),
    ("1.2.2023", (date(2023, 2, 1), date(2023, 2, 1))),
])
def test_typed_dates(text, expected):
    assert parse_range(text) == expected


def test_slashed_dates_follow_the_locale_unless_obvious():
    assert parse_range("1/2/2023", month_first=False) == (date(2023, 2, 1),) * 2
    assert parse_range("1/2/2023", month_first=True) == (date(2023, 1, 2),) * 2
    assert parse_range("1/13/2023", month_first=False) == (date(2023, 1, 13),) * 2


@pytest.mark.parametrize("text", ["", "soon", "2023-02-30", "13/13/2023"])
def test_bad_dates_say_so(text):
    with pytest.raises(DateError):
        parse_range(text)


def test_describe():
    assert describe(date(2021, 1, 1), date(2021, 12, 31)) == "2021"
    assert describe(date(2023, 3, 1), date(2023, 3, 31)) == "March 2023"
    assert describe(None, None) == "Any date"


def test_typed_dates_filter_and_the_chip_clears_them(qtbot, make_window, indexed):
    window = make_window(sync=True)
    bar = window.filter_bar
    bar.after.setText("2021")
    bar.after.editingFinished.emit()
    bar.before.setText("July 2021")
    bar.before.editingFinished.emit()
    assert (bar.after_value(), bar.before_value()) == (date(2021, 1, 1), date(2021, 7, 31))
    assert names(window) == ["blue.jpg", "red.jpg"]
    assert bar.date_chip.isVisible() and bar.date_chip.label.full_text() == "1 Jan 2021 – 31 Jul 2021"
    bar.before.setText("not a date")
    bar.before.editingFinished.emit()
    assert bar.date_error.text().startswith("Not a date") and names(window) == ["blue.jpg", "red.jpg"]
    bar.date_chip.clear_button.click()
    assert bar.after_value() is None and len(names(window)) == 5 and not bar.date_chip.isVisible()
    bar.set_kind("photo")
    assert bar.kind_chip.isVisible() and bar.kind_chip.label.full_text() == "Photos"
    bar.kind_chip.clear_button.click()
    assert bar.kind_value() is None and not bar.kind_chip.isVisible()


def test_the_calendar_opens_within_the_library(qtbot, make_window, indexed):
    window = make_window(sync=True)
    calendar = window.filter_bar.calendar
    assert calendar.minimumDate().year() == 2019 and calendar.maximumDate().year() == 2023
    window.filter_bar._open_calendar(window.filter_bar.after, window.filter_bar.dates)
    assert calendar.yearShown() == 2023
    window.filter_bar._calendar_picked(calendar.minimumDate())
    assert window.filter_bar.after_value() == date(2019, 3, 1)


def test_the_preview_pane_can_be_hidden_and_remembers(qtbot, make_window, indexed):
    first = make_window(sync=True)
    assert first.preview.isVisible()
    QTest.keyClick(first, Qt.Key.Key_F9)
    assert not first.preview.isVisible() and not first.preview_action.isChecked()
    first.close()
    second = make_window(sync=True)
    assert not second.preview.isVisible() and not second.preview_action.isChecked()


def test_sidebar_right_click_opens_the_menu_without_changing_scope(qtbot, make_window, indexed):
    window = make_window(sync=True)
    beach = str(indexed / "beach")
    tree = window.sidebar.tree
    rect = tree.visualRect(window.sidebar._items[beach].index())
    seen = []

    def close_menu():
        popup = QApplication.activePopupWidget()
        seen.append(popup is not None)
        if popup is not None:
            popup.close()

    QTimer.singleShot(300, close_menu)
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert window.scope is None and window.model.rowCount() == 5
    assert [a.text() for a in window.sidebar.actions_for(beach)][0] == "Show this folder"
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert window.scope == beach
