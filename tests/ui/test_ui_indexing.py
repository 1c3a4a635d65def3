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


def test_pause_cancel_then_index_while_a_search_is_open(qtbot, make_window, tmp_path):
    folder = tmp_path / "many"
    for i in range(COUNT):
        save_jpeg(folder / f"IMG_{i:04d}.jpg", scene("noise", (320, 240), seed=i))
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
    qtbot.waitUntil(lambda: window.model.rowCount() == COUNT, timeout=10_000)  # same query, new results
    qtbot.waitUntil(lambda: window.sidebar.folder_count(str(folder)) == COUNT, timeout=10_000)
