"""Background indexing from the window: progress in the status bar, pause/resume, cancel, and
search results that follow the index."""
from __future__ import annotations

from indexer.events import IndexProgress, IndexReport
from tests.media import save_jpeg, scene
from tests.ui.conftest import wait_idle
from ui.index_status import describe_progress, describe_report

COUNT = 30


def test_progress_texts():
    event = IndexProgress("embed", 120, 1000, failed=3, rate=40.0, current="/p/IMG_1.jpg")
    assert describe_progress(event) == "Indexing 120 of 1,000 · 40 files/s · about 22 s left · 3 failed"
    assert describe_progress(event, paused=True).startswith("Paused 120 of 1,000")
    assert describe_progress(IndexProgress("scan", 5000, 0)) == "Looking for new and changed files… 5,000 checked"
    assert describe_report(IndexReport(embedded=12, failed=2), None) == "Indexed 12 files, 2 could not be read"
    assert describe_report(IndexReport(), None) == "Library is up to date"
    assert "cancelled" in describe_report(IndexReport(embedded=4, cancelled=True), None)


def many_photos(tmp_path):
    """COUNT small JPEGs in tmp_path/many: enough that indexing takes a few seconds."""
    folder = tmp_path / "many"
    for i in range(COUNT):
        save_jpeg(folder / f"IMG_{i:04d}.jpg", scene("noise", (320, 240), seed=i))
    return folder


def test_pause_cancel_then_index_while_a_search_is_open(qtbot, make_window, tmp_path):
    folder = many_photos(tmp_path)
    window = make_window()
    wait_idle(qtbot, window)
    assert window.current_page() == "welcome"

    window.indexing.start([str(folder)])
    window.indexing.pause()
    qtbot.waitUntil(lambda: window.indexing.last_event is not None and window.indexing.last_event.phase == "embed",
                    timeout=30_000)
    status = window.index_status
    assert status.isVisible() and status.bar.isVisible()
    assert status.label.text() == f"Paused 0 of {COUNT}"
    assert status.pause_button.toolTip() == "Resume indexing"
    status.cancel_button.click()
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=30_000)
    report = window.indexing.last_report
    assert report.cancelled and report.embedded == 0
    assert "cancelled" in status.label.text() and not status.bar.isVisible()

    # the folder is in the library now: its files are browsable even before they are embedded
    qtbot.waitUntil(lambda: window.current_page() == "results" and window.model.rowCount() == COUNT, timeout=10_000)
    qtbot.waitUntil(lambda: window.sidebar.folder_count(str(folder)) == COUNT, timeout=10_000)
    assert window.sidebar.folder_indexed(str(folder)) == 0  # shown as "0/COUNT" until indexed
    window.search.submit("noise")
    wait_idle(qtbot, window)
    assert window.model.rowCount() == 0 and not window.model.browsing
    window.indexing.refresh_ms = 0
    window.start_indexing()
    assert status.pause_button.toolTip() == "Pause indexing"
    status.pause_button.click()
    assert window.indexing.paused and status.pause_button.toolTip() == "Resume indexing"
    status.pause_button.click()
    assert not window.indexing.paused
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=120_000)
    assert window.indexing.last_report.embedded == COUNT and not window.indexing.last_report.cancelled
    assert status.label.text() == f"Indexed {COUNT} files"
    # same query, new results: shown at once into an empty grid, or, when an earlier refresh during the
    # run already showed some, announced ("N new matches — Show") so nothing moves under the pointer
    qtbot.waitUntil(lambda: window.model.rowCount() == COUNT or window.new_bar.isVisible(), timeout=60_000)
    if window.model.rowCount() != COUNT:
        window.new_bar.button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == COUNT, timeout=10_000)
    qtbot.waitUntil(lambda: window.sidebar.folder_count(str(folder)) == COUNT, timeout=60_000)


def test_new_files_are_announced_not_reflowed(qtbot, make_window, indexed):
    from tests.ui.conftest import make_photos

    window = make_window()
    wait_idle(qtbot, window)
    assert window.model.browsing and window.model.rowCount() == 5
    before = [r.path for r in window.model.results]
    make_photos(indexed / "more")  # newer files: in browse order they would go on top
    window.start_indexing()
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=120_000)
    wait_idle(qtbot, window)
    assert [r.path for r in window.model.results] == before  # nothing moved under the pointer
    assert window.new_bar.isVisible() and window.new_bar.label.text() == "5 new items"
    window.new_bar.button.click()
    assert window.model.rowCount() == 10 and not window.new_bar.isVisible()


def test_a_broken_file_is_not_counted_as_a_photo(qtbot, make_window, indexed):
    (indexed / "beach" / "broken.jpg").write_bytes(b"not a picture")
    window = make_window()
    wait_idle(qtbot, window)  # start() indexes what changed: the broken file fails
    qtbot.waitUntil(lambda: window.failures_button.isVisible(), timeout=30_000)
    assert window.sidebar.folder_count(str(indexed / "beach")) == 2
    assert window.sidebar.folder_count(None) == 5 and window.sidebar.folder_indexed(None) == 5
    assert "broken.jpg" not in [r.path.rsplit("/", 1)[-1] for r in window.model.results]


def _children() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_progress_then_a_killed_child_then_a_new_run(qtbot, make_window, tmp_path):
    import os
    import signal

    folder = many_photos(tmp_path)
    window = make_window()
    wait_idle(qtbot, window)
    events = []
    window.indexing.progress.connect(events.append)
    window.indexing.start([str(folder)])
    window.indexing.pause()
    qtbot.waitUntil(lambda: window.indexing.last_event is not None and window.indexing.last_event.phase == "embed",
                    timeout=30_000)
    assert events and events[-1].total == COUNT
    os.kill(window.indexing.process.processId(), signal.SIGKILL)
    finished = []
    window.indexing.finished.connect(lambda report, error: finished.append((report, error)))
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=30_000)
    report, error = finished[-1]
    assert report is None and "killed" in str(error)
    assert window.message_bar.text.text().startswith("Indexing stopped") and "\n" not in window.message_bar.text.text()
    window.start_indexing()  # the window is still usable and the next run completes
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=120_000)
    assert window.indexing.last_report.embedded == COUNT


def test_closing_the_window_stops_the_child(qtbot, make_window, tmp_path):
    import sqlite3

    folder = tmp_path / "many"
    for i in range(80):
        save_jpeg(folder / f"IMG_{i:04d}.jpg", scene("noise", (320, 240), seed=i))
    window = make_window()
    wait_idle(qtbot, window)
    before = _children()
    window.indexing.start([str(folder)])
    qtbot.waitUntil(lambda: window.indexing.last_event is not None and window.indexing.last_event.done > 0
                    and window.indexing.last_event.phase in ("embed", "text"), timeout=60_000)
    assert window.indexing.running
    pid = window.indexing.process.processId()
    assert pid in _children()
    window.close()
    import psutil

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert _children() - before == set()
    home = window.library.paths.data
    with sqlite3.connect(home / "library.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM embeddings").fetchone()[0] > 0  # committed batches stay
