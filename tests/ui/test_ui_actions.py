"""Acting on results: the context menu, multi-selection, trash with Undo, copy/move that the
library follows, and failures said in the window."""
from __future__ import annotations

import os

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from app.browse import BrowseScope
from tests.ui.conftest import PHOTOS


def names(window) -> list[str]:
    return [os.path.basename(r.path) for r in window.model.results]


def select(window, *wanted: str) -> None:
    selection = window.view.selectionModel()
    selection.clearSelection()
    for row, result in enumerate(window.model.results):
        if os.path.basename(result.path) in wanted:
            selection.select(window.model.index(row), QItemSelectionModel.SelectionFlag.Select)
            selection.setCurrentIndex(window.model.index(row), QItemSelectionModel.SelectionFlag.NoUpdate)


def test_trash_removes_at_once_and_undo_restores(qtbot, make_window, indexed, xdg_trash):
    window = make_window(sync=True)
    red = str(indexed / "beach" / "red.jpg")
    select(window, "red.jpg")
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert not os.path.exists(red) and (xdg_trash / "files" / "red.jpg").is_file()
    assert "red.jpg" not in names(window) and len(names(window)) == len(PHOTOS) - 1
    assert red not in [r.path for r in window.library.browse(BrowseScope())]  # the library forgot it at once
    assert window.message_bar.isVisible() and "Moved red.jpg to the trash" in window.message_bar.text.text()
    QTest.keySequence(window, "Ctrl+Z")
    assert os.path.exists(red) and not (xdg_trash / "files" / "red.jpg").exists()
    assert "red.jpg" in names(window)
    assert "Restored red.jpg" in window.message_bar.text.text()


def test_undo_button_in_the_message_bar(qtbot, make_window, indexed, xdg_trash):
    window = make_window(sync=True)
    window.search.submit("anything")
    select(window, "red.jpg", "blue.jpg")
    assert "2 selected" in window.summary.text()
    window.trash_selected()
    assert sorted(set(names(window)) & {"red.jpg", "blue.jpg"}) == []
    window.message_bar.trigger("Undo")
    assert {"red.jpg", "blue.jpg"} <= set(names(window))
    assert (indexed / "beach" / "blue.jpg").is_file()


def test_multi_select_copy_to_puts_files_there_and_the_library_knows_them(qtbot, make_window, indexed, monkeypatch):
    window = make_window(sync=True)
    target = indexed / "copies"
    target.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    select(window, "red.jpg", "checker.jpg")
    window._context_menu(window.view.visualRect(window.view.currentIndex()).center())
    labels = [a.text() for a in window.context_menu.actions() if a.text()]
    assert labels[:2] == ["Open 2 Files", "Show in Folder"] and "Copy 2 Paths" in labels
    assert {"Copy to…", "Move to…", "Move to Trash", "Find Similar", "Copy Image"} <= set(labels)
    next(a for a in window.context_menu.actions() if a.text() == "Copy to…").trigger()
    assert sorted(p.name for p in target.iterdir()) == ["checker.jpg", "red.jpg"]
    assert (indexed / "beach" / "red.jpg").is_file()  # a copy: the originals stay
    known = {r.path for r in window.library.browse(BrowseScope())}
    assert {str(target / "red.jpg"), str(target / "checker.jpg")} <= known
    assert window.library.status().embeddings >= len(PHOTOS) + 2  # vectors copied, nothing re-embedded
    assert set(names(window)) >= {"red.jpg", "checker.jpg"} and len(names(window)) == len(PHOTOS) + 2
    assert "Copied 2 files" in window.message_bar.text.text()


def test_move_to_follows_the_file(qtbot, make_window, indexed, monkeypatch):
    window = make_window(sync=True)
    target = indexed / "moved"
    target.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    select(window, "gradient.jpg")
    window.actions.move_to([r.path for r in window.selected_results()], window)
    assert (target / "gradient.jpg").is_file() and not (indexed / "gradient.jpg").exists()
    assert str(target / "gradient.jpg") in [r.path for r in window.model.results]


def test_failures_are_said_in_the_window(qtbot, make_window, indexed, monkeypatch, tmp_path):
    from ui import desktop

    window = make_window(sync=True)
    monkeypatch.setattr(desktop, "open_file", lambda *a, **k: False)
    monkeypatch.setattr(desktop, "reveal_in_file_manager", lambda *a, **k: False)
    select(window, "red.jpg")
    window.actions.open(window.selected_results())
    assert "No application is set up to open red.jpg" in window.message_bar.text.text()
    window.actions.reveal(window.selected_results()[0].path)
    assert "No file manager could show" in window.message_bar.text.text()
    os.remove(indexed / "city" / "stripes.jpg")
    select(window, "stripes.jpg")
    window.actions.open(window.selected_results())
    assert "no longer there" in window.message_bar.text.text()
    target = tmp_path / "nowhere"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    window.actions.copy_to([str(indexed / "beach" / "red.jpg")], window)
    assert "folder not found" in window.message_bar.text.text()


def test_trashing_every_strong_match_still_offers_the_weaker_ones(qtbot, make_window, indexed, xdg_trash, tmp_path):
    from tests.media import save_jpeg, scene

    window = make_window(sync=True, every_match=False)
    query = save_jpeg(tmp_path / "query" / "red-again.jpg", scene("red", seed=1))
    window.search_similar(str(query))
    strong = names(window)
    assert 0 < len(strong) < len(PHOTOS)
    select(window, *strong)
    window.trash_selected()
    assert not set(strong) & set(names(window))
    # never "No matches" while matches exist: the grid shows what stands out now, or the bar offers the rest
    assert window.current_page() == "results"
    assert window.model.rowCount() > 0 or (window.weaker_bar.isVisible() and window.weaker_bar.count > 0)
    if window.model.rowCount() == 0:
        window.weaker_bar.button.click()  # "Show"
        assert window.model.rowCount() == len(PHOTOS) - len(strong)
