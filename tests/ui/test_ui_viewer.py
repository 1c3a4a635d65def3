"""The full-window viewer: Space/double-click, arrows through the grid's order, fit/100 %, Esc back."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import PHOTOS


def test_the_viewer_steps_through_results_and_esc_goes_back(qtbot, make_window, indexed):
    window = make_window(sync=True)
    window.search.submit("anything")
    order = [r.path for r in window.model.results]
    window.view.setFocus()
    window.view.setCurrentIndex(window.model.index(1))
    QTest.keyClick(window.view, Qt.Key.Key_Space)
    viewer = window.viewer
    assert viewer.isVisible() and viewer.result.path == order[1]
    assert viewer.geometry() == window.centralWidget().geometry()  # the whole window
    qtbot.waitUntil(lambda: viewer.canvas.pixmap is not None, timeout=10_000)
    assert viewer.canvas.pixmap.width() == 640  # the picture itself, not a thumbnail
    assert viewer.position.text() == f"2 of {len(PHOTOS)}"
    QTest.keyClick(viewer, Qt.Key.Key_Right)
    QTest.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.result.path == order[3]
    QTest.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.result.path == order[2]
    QTest.keyClick(viewer, Qt.Key.Key_F)
    assert not viewer.canvas.fit and viewer.zoom_button.text() == "Fit"
    QTest.keyClick(viewer, Qt.Key.Key_Escape)  # back to the grid, not "clear the search"
    assert not viewer.isVisible() and window.search.state.text == "anything"
    assert window.view.currentIndex().row() == 2 and window.view.hasFocus()


def test_double_click_opens_the_viewer_in_browse_order(qtbot, make_window, indexed):
    window = make_window(sync=True)
    assert window.model.browsing
    rect = window.view.visualRect(window.model.index(0))
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert window.viewer.isVisible() and os.path.basename(window.viewer.result.path) == "stripes.jpg"
    window.viewer.step(10)
    assert os.path.basename(window.viewer.result.path) == "checker.jpg"  # the oldest, last in browse order
    window.viewer.back_button.click()
    assert not window.viewer.isVisible() and window.view.currentIndex().row() == len(PHOTOS) - 1
