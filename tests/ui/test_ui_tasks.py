"""The background-task helper: work off the GUI thread, results on it, coalescing, sync mode."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from PySide6.QtCore import QThread

from ui.tasks import SyncTaskRunner, TaskRunner


def test_result_and_error_are_delivered_on_the_gui_thread(qtbot):
    runner = TaskRunner()
    gui = QThread.currentThread()
    worker_threads, delivered = [], []

    def work(value):
        worker_threads.append(threading.current_thread())
        if value == "boom":
            raise ValueError("bad value")
        return value * 2

    def callback(result, error):
        delivered.append((result, type(error).__name__ if error else None, QThread.currentThread() is gui))

    runner.submit(lambda: work(21), callback)
    runner.submit(lambda: work("boom"), callback, pool="bulk")
    qtbot.waitUntil(lambda: len(delivered) == 2, timeout=5000)
    assert sorted(delivered, key=str) == sorted([(42, None, True), (None, "ValueError", True)], key=str)
    assert all(t is not threading.main_thread() for t in worker_threads)
    runner.shutdown()


def test_coalesced_tasks_deliver_only_the_newest(qtbot):
    runner = TaskRunner(interactive_threads=1)
    gate = threading.Event()
    delivered = []
    runner.submit(lambda: gate.wait(5) and "first", lambda r, e: delivered.append(r), coalesce="search")
    runner.submit(lambda: "second", lambda r, e: delivered.append(r), coalesce="search")
    runner.submit(lambda: "third", lambda r, e: delivered.append(r), coalesce="search")
    gate.set()
    qtbot.waitUntil(lambda: "third" in delivered, timeout=5000)
    runner.wait(5000)
    qtbot.wait(50)
    assert delivered == ["third"]
    runner.shutdown()


def test_unknown_pool_is_refused():
    runner = SyncTaskRunner()
    try:
        runner.submit(lambda: 1, pool="nope")
    except ValueError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_sync_runner_runs_function_and_callback_in_order():
    runner = SyncTaskRunner()
    events = []
    runner.submit(lambda: events.append("run") or 5, lambda r, e: events.append(("cb", r, e)))
    assert events == ["run", ("cb", 5, None)]


def test_shutdown_stops_delivery(qtbot):
    runner = TaskRunner()
    delivered = []
    gate = threading.Event()
    runner.submit(lambda: gate.wait(5), lambda r, e: delivered.append(r))
    gate.set()
    assert runner.shutdown(5000)
    qtbot.wait(50)
    assert delivered == []
    task = runner.submit(lambda: 1, lambda r, e: delivered.append(r))
    assert task.cancelled


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_thumbnails_run_ahead_of_bulk_work(qtbot):
    """Thumbnail threads are not niced like bulk work (a niced GIL holder stalled the window)."""
    from ui.tasks import BACKGROUND_NICE, INTERACTIVE_NICE

    runner = TaskRunner()
    seen = {}

    def nice():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    for pool in ("interactive", "thumbnails", "bulk"):
        runner.submit(nice, lambda result, error, pool=pool: seen.__setitem__(pool, result), pool=pool)
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=5000)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert seen["thumbnails"] == seen["interactive"] == max(base, INTERACTIVE_NICE)
    assert seen["bulk"] == max(base, BACKGROUND_NICE)
    runner.shutdown()
