"""The preview pane and its actions, find similar, keyboard navigation, and video moments."""
from __future__ import annotations

import os

import pytest
from PIL import Image
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtTest import QTest

from app.library import Moment, SearchResult
from app.thumbnails import moment_thumbnail_path
from tests.ui.conftest import wait_idle


class OpenedUrls(QObject):
    """Receives what the app asks the desktop to open (instead of launching real programs)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url.toLocalFile())


@pytest.fixture
def opened(monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")  # no file manager to talk to
    catcher = OpenedUrls()
    QDesktopServices.setUrlHandler("file", catcher, "handle")
    yield catcher
    QDesktopServices.unsetUrlHandler("file")


def select(window, name: str):
    row = next(i for i, r in enumerate(window.model.results) if os.path.basename(r.path) == name)
    window.view.setCurrentIndex(window.model.index(row))
    return window.model.results[row]


def test_preview_shows_details_and_actions_work(qtbot, make_window, indexed, opened):
    window = make_window()
    wait_idle(qtbot, window)
    window.search.submit("red")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10_000)
    result = select(window, "red.jpg")
    preview = window.preview
    assert preview.title.full_text() == "red.jpg" and preview.folder.full_text() == str(indexed / "beach")
    qtbot.waitUntil(lambda: preview.details is not None, timeout=10_000)
    assert preview.fields["date"].full_text() == "14 Jul 2021, 10:30"
    assert preview.fields["camera"].full_text() == "Canon EOS 80D"
    assert preview.fields["dimensions"].full_text() == "640 × 480"
    assert preview.fields["size"].full_text().endswith("KB")
    assert not preview.moments.isVisible()
    qtbot.waitUntil(lambda: preview.image.pixmap is not None and preview.image.pixmap.width() == 640, timeout=10_000)

    preview.open_button.click()
    preview.reveal_button.click()
    assert opened.urls == [result.path, str(indexed / "beach")]
    preview.copy_button.click()
    clipboard = QGuiApplication.clipboard().mimeData()
    assert clipboard.text() == result.path and clipboard.urls()[0].toLocalFile() == result.path
    # Qt owns the clipboard's data until the application is destroyed; leaving it there
    # makes the offscreen platform crash while the test process exits.
    QGuiApplication.clipboard().clear()

    preview.similar_button.click()
    qtbot.waitUntil(lambda: window.search.state.image == result.path and not window.search.busy, timeout=10_000)
    qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=10_000)
    assert result.path not in [r.path for r in window.model.results]
    assert window.similar_chip.isVisible() and window.similar_chip.label.full_text() == "Like red.jpg"
    assert window.search_field.text() == ""
    window.similar_chip.clear_button.click()
    assert window.search.state.image is None and not window.similar_chip.isVisible()


def test_keyboard_find_arrows_enter_escape(qtbot, make_window, indexed, opened):
    window = make_window(sync=True)
    window.view.setFocus()
    QTest.keySequence(window, "Ctrl+F")
    assert window.search_field.hasFocus()
    window.search_field.setText("blue")
    QTest.keyClick(window.search_field, Qt.Key.Key_Return)
    assert window.model.rowCount() == 5
    QTest.keyClick(window.search_field, Qt.Key.Key_Down)
    assert window.view.hasFocus() and window.view.currentIndex().row() == 0
    QTest.keyClick(window.view, Qt.Key.Key_Right)
    assert window.view.currentIndex().row() == 1
    assert window.preview.result == window.model.results[1]
    QTest.keyClick(window.view, Qt.Key.Key_Return)
    assert opened.urls == [window.model.results[1].path]
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert window.model.browsing and window.search_field.hasFocus()  # back to browsing the library


def test_video_result_shows_its_moments(qtbot, make_window, indexed, tmp_path, opened):
    from tests.videogen import segments, write_video

    window = make_window(sync=True)
    video = write_video(tmp_path / "clip.mp4", segments([("red", 2), ("blue", 2)]), keyint=25)
    media_id = 4242
    for ts, colour in ((2.0, (20, 200, 40)), (65.5, (200, 200, 20))):
        target = moment_thumbnail_path(window.library.paths.thumbnails, media_id, ts)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (160, 90), colour).save(target)
    result = SearchResult(path=str(video), score=0.31, kind="video", timestamp=65.5, media_id=media_id,
                          moments=(Moment(65.5, 0.31), Moment(2.0, 0.29), Moment(3723.0, 0.2)))
    window.preview.show_result(result)
    preview = window.preview
    assert preview.moments.isVisible()
    assert preview.moment_labels() == ["0:02", "1:05", "1:02:03"]  # in time order
    assert preview.moments.currentItem().text() == "1:05" and preview.open_button.text() == "Open at 1:05"
    loaded = [preview.loader.pixmap(preview._moment_key(result, ts)) for ts in (2.0, 65.5)]
    assert all(p is not None for p in loaded)
    assert loaded[0].toImage().pixelColor(10, 10).green() > 150  # the indexer's picture for 0:02
    preview.moments.setCurrentRow(0)
    assert preview.open_button.text() == "Open at 0:02"
    preview.open_button.click()
    assert opened.urls == [str(video)]  # no seeking player set up here: opened normally


def test_a_narrow_pane_keeps_every_button_in_view(qtbot, make_window, indexed, tmp_path):
    """At 1024x640 the pane is ~230 px: "Open at 1:02:03" and "Show in Folder" side by side did not fit,
    and the pane's page was wider than the pane, cutting off the right column."""
    from tests.videogen import segments, write_video

    window = make_window(sync=True)
    window.resize(1024, 640)
    qtbot.waitExposed(window)
    preview = window.preview
    buttons = (preview.open_button, preview.reveal_button, preview.copy_button, preview.similar_button)

    def all_in_view() -> bool:
        return all(b.isVisible() and b.mapTo(preview, b.rect().topRight()).x() < preview.width() for b in buttons)

    video = write_video(tmp_path / "clip.mp4", segments([("red", 2)]), keyint=25)
    long_moment = SearchResult(path=str(video), score=0.31, kind="video", timestamp=3723.0, media_id=4242,
                               moments=(Moment(3723.0, 0.31),))
    window.preview.show_result(long_moment)
    qtbot.wait(100)  # the posted layout requests
    assert all_in_view()
    assert preview._button_columns == 1 and preview.open_button.text() == "Open at 1:02:03"

    window.resize(1600, 1000)  # room again: two columns
    window.splitter.setSizes([200, 900, 420])
    qtbot.waitUntil(lambda: preview._button_columns == 2, timeout=2000)
    qtbot.wait(100)
    assert all_in_view()
