"""The library sidebar, search scope, adding/removing folders, folders handed over at launch,
and what the window remembers between runs."""
from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox

from tests.ui.conftest import PHOTOS, make_photos, wait_idle


def action(window, path, text):
    return next(a for a in window.sidebar.actions_for(path) if a.text() == text)


def test_sidebar_tree_counts_and_scope(qtbot, make_window, indexed):
    window = make_window(sync=True)
    beach, city = str(indexed / "beach"), str(indexed / "city")
    assert window.sidebar.folder_count(None) == 5 and window.sidebar.folder_count(str(indexed)) == 5
    assert window.sidebar.folder_count(beach) == 2 and window.sidebar.folder_count(city) == 2
    window.search.submit("anything")
    assert window.model.rowCount() == 5

    item = window.sidebar._items[beach]
    window.sidebar.tree.setCurrentIndex(item.index())  # what a click does
    assert window.scope == beach and window.search.state.scope == beach
    assert sorted(os.path.basename(r.path) for r in window.model.results) == ["blue.jpg", "red.jpg"]
    assert window.scope_chip.isVisible() and window.scope_chip.label.full_text() == "beach"
    assert window.windowTitle().startswith("beach")

    action(window, city, "Show this folder").trigger()
    assert window.scope == city and all(r.path.startswith(city + os.sep) for r in window.model.results)

    window.scope_chip.clear_button.click()
    assert window.scope is None and window.model.rowCount() == 5 and not window.scope_chip.isVisible()
    assert window.sidebar.tree.currentIndex() == window.sidebar._items[None].index()


def test_reindex_picks_up_new_files_and_remove_forgets_the_folder(qtbot, make_window, indexed, monkeypatch):
    window = make_window()
    wait_idle(qtbot, window)
    make_photos(indexed / "more")
    action(window, str(indexed / "city"), "Re-index").trigger()
    qtbot.waitUntil(lambda: window.sidebar.folder_count(str(indexed)) == 10, timeout=60_000)
    assert window.sidebar.folder_count(str(indexed / "more")) == 5

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert [a.text() for a in window.sidebar.actions_for(str(indexed / "city"))].count("Remove from library") == 0
    action(window, str(indexed), "Remove from library").trigger()
    qtbot.waitUntil(lambda: window.current_page() == "welcome", timeout=20_000)
    assert window.library.roots() == [] and sorted(p.name for p in indexed.iterdir()) == ["beach", "city", "gradient.jpg", "more"]


def test_folder_outside_the_library_is_offered_and_indexed(qtbot, make_window, indexed, tmp_path):
    window = make_window()
    wait_idle(qtbot, window)
    outside = make_photos(tmp_path / "Holidays 2024")
    window.open_folder(str(outside))
    assert window.scope == str(outside)
    assert window.message_bar.isVisible() and "not in your library" in window.message_bar.text.text()
    wait_idle(qtbot, window)
    # one state: the page says what the message bar says, and both offer to add it
    assert window.current_page() == "no-results" and "not in your library yet" in window.empty_page.text.text()
    assert window.empty_page.button.text() == "Add and Index"
    window.search.submit("sand")
    wait_idle(qtbot, window)
    assert window.model.rowCount() == 0 and window.current_page() == "no-results"
    assert "not in your library yet" in window.empty_page.text.text()
    window.empty_page.button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == len(PHOTOS), timeout=60_000)  # results appear, no re-typing
    assert all(r.path.startswith(str(outside) + os.sep) for r in window.model.results)
    assert sorted(r.path for r in window.library.roots()) == sorted([str(indexed), str(outside)])


def test_missing_or_non_folder_paths_give_a_message_not_a_crash(qtbot, make_window, indexed, tmp_path):
    window = make_window(sync=True)
    window.set_scope(str(indexed / "beach"))
    window.open_folder(str(tmp_path / "does not exist"))
    assert window.message_bar.level == "error" and "Folder not found" in window.message_bar.text.text()
    assert window.scope == str(indexed / "beach")
    window.open_folder(str(indexed / "gradient.jpg"))
    assert "Not a folder" in window.message_bar.text.text()
    window.add_folders([str(tmp_path / "does not exist")])
    assert "folder not found" in window.message_bar.text.text()


def test_geometry_scope_and_view_options_are_remembered(qtbot, make_window, indexed, paths):
    first = make_window(sync=True)
    first.resize(770, 610)
    first.set_scope(str(indexed / "city"))
    first.filter_bar.scores.setChecked(True)
    first.filter_bar.set_sort("newest")
    first.close()
    assert (paths.data / "gui.ini").is_file()
    second = make_window(sync=True)
    assert (second.width(), second.height()) == (770, 610)
    assert second.scope == str(indexed / "city") and second.scope_chip.isVisible()
    assert second.filter_bar.scores.isChecked() and second.view.delegate.show_scores
    assert second.search.state.sort == "relevance"  # the order is per search: a new one starts at best match


def test_sidebar_updates_counts_in_place_while_folders_stay_the_same(qtbot):
    """Indexing refreshes the sidebar every few seconds: same folders, new numbers, same rows (no
    rebuild that would collapse what the user expanded or cost the GUI thread a tree rebuild)."""
    from app.library_types import RootInfo
    from ui.sidebar import LibrarySidebar

    sidebar = LibrarySidebar()
    qtbot.addWidget(sidebar)
    root = RootInfo(1, "/photos", files=5, pending=5)
    sidebar.set_library([root], {"/photos/a": (0, 3), "/photos/a/b": (0, 2)})
    item = sidebar._items["/photos/a"]
    sidebar.tree.setExpanded(item.index(), False)
    assert sidebar.folder_count("/photos") == 5 and sidebar.folder_indexed("/photos") == 0

    sidebar.set_library([RootInfo(1, "/photos", files=5, pending=1)], {"/photos/a": (3, 3), "/photos/a/b": (1, 2)})
    assert sidebar._items["/photos/a"] is item and not sidebar.tree.isExpanded(item.index())
    assert sidebar.folder_indexed("/photos") == 4 and sidebar.folder_indexed("/photos/a/b") == 1
    assert sidebar.folder_indexed(None) == 4
    assert "1 waiting" in sidebar._items["/photos"].toolTip()

    sidebar.set_library([RootInfo(1, "/photos", files=6)], {"/photos/a": 3, "/photos/a/b": 2, "/photos/c": 1})
    assert sidebar._items["/photos/a"] is not item  # a new folder: rebuilt
    assert sidebar.folder_count("/photos/c") == 1 and sidebar.folder_count("/photos") == 6
    assert sidebar.model.index(0, 1).data() == "6"


def test_first_run_panes_leave_the_grid_three_columns_at_1024(qtbot, paths):
    """No saved layout: side panes in proportion to the window, so a small screen's grid is not two columns."""
    from app.library import Library
    from ui.main_window import MainWindow
    from ui.settings import GuiSettings
    from ui.tasks import SyncTaskRunner

    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        window = MainWindow(library, SyncTaskRunner(), GuiSettings(paths.data / "gui.ini"))
        qtbot.addWidget(window)
        window.resize(1024, 640)
        window.show()
        qtbot.waitExposed(window)
        side, grid, preview = window.splitter.sizes()
        assert side <= 170 and preview <= 250 and grid >= 1024 - 170 - 250 - 40
        cell = window.view.delegate.cell_size(window.view.font()).width()
        assert window.view.viewport().width() // cell >= 3
        window.close()
