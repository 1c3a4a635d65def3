"""Run work off the GUI thread and get ``(result, error)`` back on it.

Every background call in the app goes through a ``TaskRunner``: ``submit(fn, callback, pool)``
runs ``fn()`` on a thread pool and later calls ``callback(result, error)`` on the GUI thread
(exactly one of them is set). Two pools keep the user's waiting separate from bulk work:

* ``interactive`` — searches, previews, details: short, and someone is waiting for them;
* ``thumbnails`` — the thumbnails on screen: numerous and short, and someone is looking at them;
* ``bulk`` — long work (duplicate grouping, in-process indexing in tests): lower priority.

``coalesce="name"`` keeps only the newest task of that name: an older one that has not started is
skipped, and one already running is not delivered. Callers that depend on changing state (a search
whose query has moved on) still re-check it in the callback. Tests use ``SyncTaskRunner``, which
runs the function and its callback at once, in order.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QThreadPool, Qt, Signal

log = logging.getLogger(__name__)

Callback = Callable[[Any, BaseException | None], None]
POOLS = ("interactive", "thumbnails", "bulk")


class Task:
    """One submitted call; ``cancel()`` drops it if it has not started and suppresses delivery."""

    __slots__ = ("fn", "callback", "pool", "coalesce", "cancelled", "result", "error")

    def __init__(self, fn: Callable[[], Any], callback: Callback | None, pool: str, coalesce: str | None) -> None:
        self.fn = fn
        self.callback = callback
        self.pool = pool
        self.coalesce = coalesce
        self.cancelled = False
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self.cancelled = True

    def execute(self) -> None:
        try:
            self.result = self.fn()
        except Exception as exc:  # noqa: BLE001 - handed to the callback, which decides
            self.error = exc
            if not getattr(exc, "expected", False):
                log.debug("background task failed", exc_info=True)


BACKGROUND_NICE = 10
INTERACTIVE_NICE = 2  # searches still run ahead of indexing, and the GUI thread ahead of both


def lower_thread_priority(nice: int = BACKGROUND_NICE) -> None:
    """Run the calling thread (and the threads it starts) at a lower CPU priority on Linux.

    Qt's thread priorities do nothing for normal Linux threads, and indexing keeps every core
    busy (decoding threads, the model's own thread pool); without this the GUI thread waits for a
    core and the window stutters. Threads inherit the nice value of the thread that creates them,
    so the decoders and onnxruntime threads the indexer starts from here are niced too. Raising the
    value is always allowed, lowering it again is not, which suits pools that keep one kind of work.
    """
    if not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:
        log.debug("cannot lower the priority of a background thread", exc_info=True)


class TaskRunner(QObject):
    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None, interactive_threads: int = 2, bulk_threads: int = 3,
                 thumbnail_threads: int = 2) -> None:
        super().__init__(parent)
        self.pools: dict[str, QThreadPool] = {}
        for name, threads in (("interactive", interactive_threads), ("thumbnails", thumbnail_threads),
                              ("bulk", bulk_threads)):
            pool = QThreadPool(self)
            pool.setMaxThreadCount(max(1, threads))
            pool.setExpiryTimeout(30_000)
            if name == "bulk":
                pool.setThreadPriority(QThread.Priority.LowPriority)
            self.pools[name] = pool
        self._latest: dict[str, Task] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def submit(self, fn: Callable[[], Any], callback: Callback | None = None, pool: str = "interactive",
               coalesce: str | None = None) -> Task:
        if pool not in self.pools:
            raise ValueError(f"unknown pool {pool!r}")
        task = Task(fn, callback, pool, coalesce)
        if coalesce:
            with self._lock:
                previous = self._latest.get(coalesce)
                self._latest[coalesce] = task
            if previous is not None:
                previous.cancel()
        if self._closed:
            task.cancel()
            return task
        self.pools[pool].start(lambda: self._run(task))
        return task

    def _run(self, task: Task) -> None:
        if task.cancelled:
            return
        # Thumbnails are not niced like bulk work: a thread at the indexing child's priority that holds
        # the GIL is preempted by the child's threads, and the GUI thread waits for the GIL meanwhile
        # (bench/bench_gui.py: worst stalls ~100 ms while indexing, ~75 ms with thumbnails at this value).
        lower_thread_priority(BACKGROUND_NICE if task.pool == "bulk" else INTERACTIVE_NICE)
        task.execute()
        if not task.cancelled:
            self._finished.emit(task)

    def _deliver(self, task: Task) -> None:
        if task.coalesce:
            with self._lock:
                if self._latest.get(task.coalesce) is task:
                    del self._latest[task.coalesce]
        if task.cancelled or self._closed or task.callback is None:
            return
        try:
            task.callback(task.result, task.error)
        except Exception:  # noqa: BLE001 - a broken callback must not take the event loop down
            log.exception("task callback failed")

    def active(self, pool: str | None = None) -> int:
        names = [pool] if pool else list(self.pools)
        return sum(self.pools[n].activeThreadCount() for n in names)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every pool is idle (tests, shutdown)."""
        return all(pool.waitForDone(msecs) for pool in self.pools.values())

    def shutdown(self, msecs: int = 5000) -> bool:
        """Drop queued work, stop delivering, and wait up to ``msecs`` for running work."""
        self._closed = True
        for pool in self.pools.values():
            pool.clear()
        return self.wait(msecs)


class SyncTaskRunner(QObject):
    """Same interface, no threads: ``submit`` runs the function and its callback before returning."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.submitted: list[Task] = []

    def submit(self, fn: Callable[[], Any], callback: Callback | None = None, pool: str = "interactive",
               coalesce: str | None = None) -> Task:
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}")
        task = Task(fn, callback, pool, coalesce)
        self.submitted.append(task)
        task.execute()
        if callback is not None:
            callback(task.result, task.error)
        return task

    def active(self, pool: str | None = None) -> int:
        return 0

    def wait(self, msecs: int = -1) -> bool:
        return True

    def shutdown(self, msecs: int = 5000) -> bool:
        return True
