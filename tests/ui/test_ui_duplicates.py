"""The Duplicates window on a library with planted duplicates (tests/duplicates_media.py), the real
main window, the tiny real model and a temporary desktop trash (XDG_DATA_HOME)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from db import Media
from tests.duplicates_media import SAME_COPIES, build_library
from tests.ui.conftest import wait_idle


@pytest.fixture
def xdg_trash(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data / "Trash"


@pytest.fixture
def planted(paths, tmp_path):
    from app.library import Library

    photos = tmp_path / "photos"
    planted = build_library(photos)
    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        library.index([photos])
    return photos, {k: str(v) for k, v in planted.items()}


def _known(window) -> set[str]:
    with window.library.db.session() as session:
        return set(session.execute(select(Media.path)).scalars())


def _open(qtbot, window):
    window.duplicates_action.trigger()  # Library ▸ Find Duplicates…
    view = window.duplicates_window
    qtbot.waitUntil(lambda: not view.busy and view.report is not None, timeout=60_000)
    return view


def test_groups_comparison_keep_trash_and_undo(qtbot, make_window, planted, xdg_trash, monkeypatch):
    photos, p = planted
    window = make_window()
    wait_idle(qtbot, window)
    view = _open(qtbot, window)
    assert view.isVisible() and view.folder is None
    assert view.phase in ("hash", "compare", "pixels") and not view.progress.isVisible()  # progress came across
    kinds = [g.kind for g in view.groups]
    assert sorted(kinds) == ["exact", "same", "similar"]
    assert kinds[-1] == "similar"  # largest reclaimable first
    labels = [view.list.item(i).text() for i in range(view.list.count())]
    assert any(t.startswith("Exact copies · 2 files") for t in labels)
    assert any(t.startswith("Same picture · 8 files") for t in labels)
    assert any(t.startswith("Similar shots · 3 files") for t in labels)

    # the comparison: every file of the group with its dimensions; what differs is marked
    same_row = kinds.index("same")
    view.list.setCurrentRow(same_row)
    cards = view.compare.cards
    assert {c.file.path for c in cards} == {p["a_copy"], *(p[k] for k in SAME_COPIES)}
    small = next(c for c in cards if c.file.path == p["a_small"])
    assert "400 × 300" in small.fact_labels["dimensions"].text()
    assert small.fact_labels["dimensions"].property("differs") is True
    assert small.fact_labels["format"].property("differs") is True
    kept = next(c for c in cards if c.keep_button.isChecked())
    assert kept.file.path == p["a_copy"] and "metadata" in kept.keep_note.text()
    assert not kept.trash_box.isEnabled() and small.trash_box.isChecked()
    qtbot.waitUntil(lambda: all(c._pixmap is not None for c in view.compare.cards), timeout=30_000)

    # similar shots: shown, never offered for trashing
    view.list.setCurrentRow(kinds.index("similar"))
    assert all(not c.keep_button.isVisibleTo(c) and not c.trash_box.isVisibleTo(c) for c in view.compare.cards)
    assert not view.trash_group_button.isEnabled()
    assert not {p["b1"], p["b2"], p["b3"]} & set(view.marked_paths())

    # the user keeps the PNG instead: the copy it replaced is now marked, the PNG is not
    view.list.setCurrentRow(same_row)
    png = next(c for c in view.compare.cards if c.file.path == p["a_png"])
    png.keep_button.click()
    assert view.groups[same_row].kept.path == p["a_png"] and view.groups[same_row].reason == "chosen"
    png = next(c for c in view.compare.cards if c.file.path == p["a_png"])
    assert png.keep_button.isChecked() and "your choice" in png.keep_note.text()
    marked = set(view.marked_paths())
    assert p["a_png"] not in marked
    assert p["a_copy"] not in marked  # still kept by the exact group: a file kept anywhere is never trashed
    # back to the suggestion for the trash test
    next(c for c in view.compare.cards if c.file.path == p["a_copy"]).keep_button.click()

    asked = []

    def answer(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    expected = {p[k] for k in ("a", *SAME_COPIES)}
    space = sum(os.path.getsize(x) for x in expected)
    view.trash_all_button.click()
    qtbot.waitUntil(lambda: not view.busy and bool(view.undo_stack), timeout=30_000)
    assert len(asked) == 1 and f"{len(expected)} files" in asked[0]
    from ui.format import format_size
    assert format_size(space) in asked[0]
    assert all(not os.path.exists(x) for x in expected)
    assert {x.name for x in (xdg_trash / "files").iterdir()} == {os.path.basename(x) for x in expected}
    assert not _known(window) & expected
    assert os.path.exists(p["a_copy"]) and os.path.exists(p["b1"])
    qtbot.waitUntil(lambda: not view.busy and [g.kind for g in view.groups] == ["similar"], timeout=30_000)
    assert "Moved 8 files" in view.status.text()
    wait_idle(qtbot, window)
    assert not {r.path for r in window.model.results} & expected  # the main grid dropped them

    # Undo (Ctrl+Z in the view): files and rows come back, and so do the groups
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=5000)
    qtbot.keyClick(view.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not view.busy and sorted(g.kind for g in view.groups) == ["exact", "same", "similar"],
                    timeout=30_000)
    assert all(os.path.exists(x) for x in expected)
    assert expected <= _known(window)
    assert "Restored 8 files" in view.status.text()
    assert not view.undo_stack and not view.undo_button.isEnabled()
    assert view.undo() is False  # nothing left to undo

    window.close()  # the Duplicates window goes with the main window
    assert not view.isVisible()


def test_scoped_to_folder_group_trash_declined_and_failure(qtbot, make_window, planted, xdg_trash, monkeypatch):
    photos, p = planted
    window = make_window(sync=True)
    window.set_scope(str(photos / "copies"))
    window.sidebar.duplicates_button.click()  # the sidebar's button
    view = window.duplicates_window
    assert view.folder == str(photos / "copies")
    assert [g.kind for g in view.groups] == ["same"]  # the exact copy's twin is outside the folder

    # a double-click on a card asks to open that file
    opened = []
    view.open_requested.disconnect()
    view.open_requested.connect(opened.append)
    qtbot.mouseDClick(view.compare.cards[0].image, Qt.MouseButton.LeftButton)
    assert opened == [view.compare.cards[0].file.path]

    # declining the confirmation changes nothing
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    view.trash_all()
    assert all(os.path.exists(p[k]) for k in SAME_COPIES) and not view.undo_stack

    # per-group trash honours the user's marks; a file that went away is one line, the rest move
    view.list.setCurrentRow(0)
    spare = next(c for c in view.compare.cards if c.file.path == p["a_webp"])
    spare.trash_box.click()
    assert p["a_webp"] not in view.marked_paths()
    os.remove(p["a_heic"])
    view.trash_group_button.click()
    moved = {p[k] for k in SAME_COPIES} - {p["a_webp"], p["a_heic"], p["a_copy"]}
    assert all(not os.path.exists(x) for x in moved)
    assert os.path.exists(p["a_webp"])
    status = view.status.text()
    assert f"Moved {len(moved)} files" in status and "Not moved: a.heic" in status and "\n" not in status
    view.undo_button.click()
    assert all(os.path.exists(x) for x in moved)


def test_no_duplicates_and_missing_folder(qtbot, make_window, indexed, tmp_path):
    window = make_window(sync=True)
    view = window.show_duplicates()
    assert view.groups == [] and "No duplicates" in view.title.text()
    assert not view.trash_all_button.isEnabled() and not view.undo_button.isEnabled()
    gone = tmp_path / "gone"
    gone.mkdir()
    window.scope = str(gone)
    gone.rmdir()
    view = window.show_duplicates()
    assert view.groups == [] and view.status.text().startswith("Cannot look for duplicates: folder not found")
