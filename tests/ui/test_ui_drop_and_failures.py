"""Dropping files and folders on the window, and the panel of files that could not be indexed."""
from __future__ import annotations

import warnings

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from app.library import Library
from tests.media import save_jpeg, scene
from tests.ui.conftest import PHOTOS, make_photos, wait_idle


def drop(window, *paths) -> bool:
    """Drag ``paths`` over the window and drop them, as a file manager would; True if accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = QPoint(window.width() // 2, window.height() // 2)
    with warnings.catch_warnings():  # Qt marks its only constructor as deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(window, QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    return True


def test_dropping_a_picture_searches_by_it(qtbot, make_window, indexed, tmp_path):
    window = make_window()
    wait_idle(qtbot, window)
    outside = save_jpeg(tmp_path / "elsewhere" / "query.jpg", scene("checker", seed=9))
    assert drop(window, outside)
    qtbot.waitUntil(lambda: not window.model.browsing and window.model.rowCount() >= 1, timeout=10_000)
    assert window.search.state.image == str(outside)
    assert window.similar_chip.isVisible()
    assert [r.path for r in window.model.results] == [r.path for r in window.library.similar(str(outside))][:5]


def test_dropping_a_folder_adds_and_indexes_it(qtbot, make_window, tmp_path):
    window = make_window()
    qtbot.waitUntil(lambda: window.current_page() == "welcome", timeout=10_000)
    folder = make_photos(tmp_path / "dropped")
    notes = tmp_path / "notes.txt"
    notes.write_text("not media")
    assert not drop(window, notes)  # refused: nothing to do with a text file
    assert drop(window, folder)
    qtbot.waitUntil(lambda: window.indexing.last_report is not None and not window.indexing.running, timeout=60_000)
    assert window.indexing.last_report.embedded == len(PHOTOS)
    assert [r.path for r in window.library.roots()] == [str(folder)]


def test_failures_panel_lists_unreadable_files_with_reasons(qtbot, make_window, paths, tmp_path):
    folder = make_photos(tmp_path / "mixed")
    (folder / "empty.jpg").write_bytes(b"")
    good = (folder / "gradient.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(good[: len(good) // 3])
    (folder / "fake.png").write_text("this is text, not a picture")
    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        report = library.index([folder])
        expected = {f.path: f.reason for f in library.status().failed}
    assert report.failed == len(expected) >= 2

    window = make_window()
    wait_idle(qtbot, window)
    assert window.failures_button.isVisible()
    assert window.failures_button.text() == f"{len(expected)} could not be indexed"
    window.failures_button.click()
    dialog = window.failures_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dict(dialog.rows()) == expected, timeout=10_000)
    assert expected[str(folder / "empty.jpg")] and all(expected.values())
    dialog.filter.setText("empty.jpg")
    assert [p for p, _ in dialog.rows()] == [str(folder / "empty.jpg")]
    dialog.copy_list()
    assert QGuiApplication.clipboard().text() == f"{folder / 'empty.jpg'}\t{expected[str(folder / 'empty.jpg')]}"
