"""Text in photos in the window: the matched words on a result, their boxes on the preview, the
photo's text in the details with Copy, the Read Text setting, and the text phase in the status bar."""
from __future__ import annotations

import json
import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from indexer.events import IndexProgress, IndexReport
from tests.media import draw_text, font_path, photo_background, save_jpeg
from tests.ui.conftest import PHOTOS, make_photos, wait_idle
from ui.index_status import describe_progress, describe_report
from ui.results_model import ResultRole

pytestmark = pytest.mark.skipif(font_path("DejaVuSans-Bold.ttf") is None,
                                reason="fonts-dejavu-core is not installed")


@pytest.fixture
def with_sign(paths, tmp_path):
    """The usual photos plus a sign reading GATE B42, indexed with text reading on (the default)."""
    from app.library import Library

    folder = make_photos(tmp_path / "photos")
    save_jpeg(folder / "sign.jpg", draw_text(photo_background((800, 600), 1), "GATE B42", height=0.14, at=(0.2, 0.35)))
    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        report = library.index([folder])
    assert report.embedded == len(PHOTOS) + 1 and report.text_read == len(PHOTOS) + 1
    return folder


def select(window, name: str):
    row = next(i for i, r in enumerate(window.model.results) if os.path.basename(r.path) == name)
    window.view.setCurrentIndex(window.model.index(row))
    return window.model.results[row]


def test_text_match_shown_on_result_preview_boxes_and_details_copy(qtbot, make_window, with_sign):
    window = make_window()
    wait_idle(qtbot, window)
    window.search.submit("gate B42")
    wait_idle(qtbot, window)  # (the grid browses the library before a query: wait for the search)
    assert window.model.rowCount() == len(PHOTOS) + 1
    first = window.model.results[0]
    assert os.path.basename(first.path) == "sign.jpg" and "GATE" in first.text.upper()
    # the grid shows the words on the result (tooltip, accessible text and a badge painted on the thumbnail)
    index = window.model.index(0)
    assert "text: \u201cGATE" in index.data(Qt.ItemDataRole.ToolTipRole).upper().replace("TEXT:", "text:")
    assert "GATE" in index.data(Qt.ItemDataRole.AccessibleTextRole).upper()
    window.view.viewport().grab()
    assert "GATE" in window.view.delegate.last_text_badge.upper()
    plain = next(r for r in window.model.results if r.text is None)
    assert plain.text_boxes == ()
    plain_index = window.model.index(window.model.results.index(plain))
    assert "text:" not in plain_index.data(Qt.ItemDataRole.ToolTipRole)

    # the preview outlines the matched words, mapped onto the picture as drawn
    result = select(window, "sign.jpg")
    preview = window.preview
    assert preview.image.boxes == tuple(result.text_boxes) and preview.image.boxes
    qtbot.waitUntil(lambda: preview.image.pixmap is not None and preview.image.pixmap.width() == 800, timeout=10_000)
    target = preview.image.image_rect()
    polygons = preview.image.box_polygons()
    assert len(polygons) == len(result.text_boxes)
    bounds = polygons[0].boundingRect()
    assert target.adjusted(-1, -1, 1, 1).contains(bounds)
    # the sign was drawn at 20 %..~75 % across and 35 %..~55 % down: the box sits there
    left = (bounds.left() - target.left()) / target.width()
    top = (bounds.top() - target.top()) / target.height()
    assert 0.15 < left < 0.3 and 0.3 < top < 0.45
    preview.image.grab()  # paints with the boxes without trouble

    # the details list the photo's text; Copy Text puts it on the clipboard
    qtbot.waitUntil(lambda: bool(preview.text_lines()), timeout=10_000)
    assert any("GATE" in line.upper() for line in preview.text_lines())
    assert preview.text_view.isVisible() and preview.copy_text_button.isVisible()
    assert "GATE" in preview.text_view.toPlainText().upper()
    preview.copy_text_button.click()
    assert QGuiApplication.clipboard().text() == preview.photo_text.text
    QGuiApplication.clipboard().clear()  # Qt owns the data until the app goes; don't leave it there

    # a photo without text: no boxes, no text section
    select(window, os.path.basename(plain.path))
    assert preview.image.boxes == () and preview.image.box_polygons() == []
    wait_idle(qtbot, window)
    assert not preview.text_view.isVisible() and not preview.copy_text_button.isVisible()


def test_quoted_word_required_and_results_keep_their_size(qtbot, make_window, with_sign):
    window = make_window()
    wait_idle(qtbot, window)
    window.search.submit("red")
    wait_idle(qtbot, window)
    size = window.view.visualRect(window.model.index(0)).size()
    window.search.submit('"B42"')
    wait_idle(qtbot, window)
    assert window.model.rowCount() == 1 and window.model.results[0].text
    assert os.path.basename(window.model.index(0).data(ResultRole).path) == "sign.jpg"
    assert window.view.visualRect(window.model.index(0)).size() == size  # the badge sits inside the cell


def test_read_text_setting_in_library_menu(qtbot, make_window, indexed, paths):
    window = make_window()
    wait_idle(qtbot, window)
    action = window.read_text_action
    assert action.isCheckable() and action.isChecked() and window.library.read_text is True
    action.trigger()
    assert window.library.read_text is False and not action.isChecked()
    assert json.loads(paths.config.read_text())["read_text"] is False
    action.trigger()  # on again: the photos not read yet are read now
    assert window.library.read_text is True
    wait_idle(qtbot, window, timeout=60_000)
    assert window.library.status().text_pending == 0


def test_status_bar_shows_the_text_phase(qtbot, make_window, indexed):
    assert describe_progress(IndexProgress("text", 12, 52)) == "Reading text 12 of 52"
    assert describe_progress(IndexProgress("text", 12, 52, rate=2.5), paused=True) == "Paused reading text 12 of 52"
    assert describe_progress(IndexProgress("text", 12, 52, rate=2.0)) == \
        "Reading text 12 of 52 · 2.0 photos/s · about 20 s left"
    assert describe_report(IndexReport(text_read=3), None) == "Read text in 3 photos"
    assert describe_report(IndexReport(embedded=2, text_read=3), None) == "Indexed 2 files"  # text: a detail

    window = make_window()
    wait_idle(qtbot, window)
    status = window.index_status
    status._on_started()
    status._on_progress(IndexProgress("text", 12, 52, current="/p/sign.jpg"))
    assert status.label.text() == "Reading text 12 of 52"
    assert (status.bar.minimum(), status.bar.maximum(), status.bar.value()) == (0, 52, 12)  # not a busy bar
    status._on_finished(IndexReport(text_read=52), None)


def test_turning_reading_on_reads_now_and_the_preview_fills_in(qtbot, make_window, paths, tmp_path):
    from app.library import Library

    folder = tmp_path / "signs"
    save_jpeg(folder / "sign.jpg", draw_text(photo_background((800, 600), 2), "EXIT 12", height=0.14, at=(0.2, 0.35)))
    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        library.read_text = False
        report = library.index([folder])
    assert report.embedded == 1 and report.text_read == 0

    window = make_window()
    wait_idle(qtbot, window)
    assert not window.read_text_action.isChecked()
    window.search.submit("exit")
    wait_idle(qtbot, window)
    select(window, "sign.jpg")
    wait_idle(qtbot, window)
    assert window.preview.text_lines() == [] and not window.preview.text_view.isVisible()

    window.read_text_action.trigger()  # on: an indexing run reads the photo now
    qtbot.waitUntil(lambda: window.indexing.running or bool(window.preview.text_lines()), timeout=10_000)
    wait_idle(qtbot, window, timeout=60_000)
    qtbot.waitUntil(lambda: bool(window.preview.text_lines()), timeout=10_000)
    assert "EXIT" in window.preview.text_lines()[0].upper() and window.preview.text_view.isVisible()
    assert window.library.status().text_read == 1
