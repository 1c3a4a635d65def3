"""Fixtures for the desktop app tests: Qt on the offscreen platform, a library of generated photos
indexed with the tiny test model, and a factory for real main windows on that library."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
os.environ.setdefault("MEDIASEEK_PROVIDERS", "CPUExecutionProvider")

from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.media import save_jpeg, scene  # noqa: E402

PHOTOS = {
    "beach/red.jpg": ("red", datetime(2021, 7, 14, 10, 30), "Canon", "Canon EOS 80D"),
    "beach/blue.jpg": ("blue", datetime(2021, 7, 15, 11, 0), None, None),
    "city/checker.jpg": ("checker", datetime(2019, 3, 2, 9, 0), "FUJIFILM", "X-T3"),
    "city/stripes.jpg": ("stripes", datetime(2023, 1, 1, 12, 0), None, None),
    "gradient.jpg": ("gradient", datetime(2020, 5, 5, 5, 5), None, None),
}


def make_photos(folder: Path) -> Path:
    for i, (rel, (kind, taken, make, model)) in enumerate(PHOTOS.items()):
        save_jpeg(folder / rel, scene(kind, seed=i), taken=taken, make=make, model=model)
    return folder


@pytest.fixture
def paths(home):
    from app.paths import AppPaths

    return AppPaths(data=home, cache=home / "cache", logs=home / "logs")


@pytest.fixture
def bare_paths(tmp_path):
    """A home with nothing in it: no model, no folders (a first run)."""
    from app.paths import AppPaths

    home = tmp_path / "bare-home"
    return AppPaths(data=home, cache=home / "cache", logs=home / "logs")


@pytest.fixture
def photos(tmp_path) -> Path:
    return make_photos(tmp_path / "photos")


@pytest.fixture
def indexed(paths, photos):
    """The photos folder added and indexed (in this process, with the real service layer)."""
    from app.library import Library

    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        report = library.index([photos])
    assert report.embedded == len(PHOTOS) and report.failed == 0
    return photos


@pytest.fixture
def make_window(qtbot, paths):
    """Build a real MainWindow on the test home; ``sync=True`` runs background work inline."""
    from app.library import Library
    from ui.main_window import MainWindow
    from ui.settings import GuiSettings
    from ui.tasks import SyncTaskRunner, TaskRunner

    made = []

    def factory(sync: bool = False, start: bool = True, folder: str | None = None, status_file: str | None = None,
                on=None, every_match: bool = True):
        """``every_match``: searches show every match, not only those that stand out (tests that are
        not about the cut-off compare against the engine's full ranking)."""
        library = Library(on or paths, providers=["CPUExecutionProvider"])
        runner = SyncTaskRunner() if sync else TaskRunner()
        window = MainWindow(library, runner, GuiSettings(library.paths.data / "gui.ini"), status_file=status_file)
        if every_match:
            window.search.fixed_strength = 0.0
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        made.append((window, library, runner))
        if start:
            window.start(folder)
        return window

    yield factory
    for window, library, runner in made:
        window.close()
        runner.shutdown(20_000)
        library.close()


def wait_idle(qtbot, window, timeout: int = 20_000) -> None:
    """Wait until no search, indexing or library read is in flight."""
    qtbot.waitUntil(lambda: not window.indexing.running and not window.search.busy and not window.browser.busy
                    and window.runner.active() == 0, timeout=timeout)
