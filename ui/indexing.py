"""Background indexing for the window: start, pause, resume, cancel, and progress.

``Library.index`` runs as one long task on the bulk pool. Its progress callback is called from
indexing threads many times a second; it only stores the latest event, and a GUI-thread timer
reads it a few times a second. The indexer therefore never waits for the GUI and the GUI is never
flooded with queued events. While embedding advances, ``new_results`` fires every couple of
seconds so an open search can refresh.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from app.library import Library
from indexer.events import IndexProgress, IndexReport

log = logging.getLogger(__name__)


class _LatestEvent:
    """A one-slot mailbox between the indexing threads and the GUI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event: IndexProgress | None = None

    def put(self, event: IndexProgress) -> None:
        with self._lock:
            self._event = event

    def take(self) -> IndexProgress | None:
        with self._lock:
            event, self._event = self._event, None
            return event


class IndexingController(QObject):
    started = Signal()
    progress = Signal(object)  # IndexProgress
    new_results = Signal()  # more of the library is searchable now
    finished = Signal(object, object)  # IndexReport | None, error | None
    paused_changed = Signal(bool)

    def __init__(self, library: Library, runner, parent: QObject | None = None, poll_ms: int = 150,
                 refresh_ms: int = 2000) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.refresh_ms = refresh_ms
        self.running = False
        self.last_event: IndexProgress | None = None
        self.last_report: IndexReport | None = None
        self._cancel = threading.Event()
        self._pause = threading.Event()
        self._box = _LatestEvent()
        self._again: list[str] | None = None
        self._refreshed_at = 0.0
        self._refreshed_done = 0
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def cancelling(self) -> bool:
        return self.running and self._cancel.is_set()

    def start(self, folders: Sequence[str] = ()) -> None:
        """Index the library (adding ``folders`` first). While a run is going, another is queued."""
        if self.running:
            self._again = [*(self._again or []), *folders]
            return
        self.running = True
        self._cancel = threading.Event()
        self._pause = threading.Event()
        self._box = _LatestEvent()
        self.last_event = None
        self._refreshed_at = time.monotonic()
        self._refreshed_done = 0
        library, box, cancel, pause = self.library, self._box, self._cancel, self._pause
        folders = list(folders)

        def job() -> IndexReport:
            return library.index(folders, on_progress=box.put, cancel=cancel, pause=pause)

        self._timer.start()
        self.started.emit()
        self.paused_changed.emit(False)
        self.runner.submit(job, self._done, pool="bulk")

    def pause(self) -> None:
        if self.running and not self._pause.is_set():
            self._pause.set()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._pause.is_set():
            self._pause.clear()
            self.paused_changed.emit(False)

    def cancel(self) -> None:
        """Stop after the current batch; everything committed stays indexed."""
        self._again = None
        if self.running:
            self._cancel.set()
            self._pause.clear()

    def _poll(self) -> None:
        event = self._box.take()
        if event is None:
            return
        self.last_event = event
        self.progress.emit(event)
        now = time.monotonic()
        if (event.phase == "embed" and event.done > self._refreshed_done
                and (now - self._refreshed_at) * 1000 >= self.refresh_ms):
            self._refreshed_at = now
            self._refreshed_done = event.done
            self.new_results.emit()

    def _done(self, report: IndexReport | None, error: BaseException | None) -> None:
        self._poll()
        self._timer.stop()
        self.running = False
        self.last_report = report
        if self._pause.is_set():
            self._pause.clear()
            self.paused_changed.emit(False)
        if error is not None:
            log.warning("indexing failed: %s", error)
        self.finished.emit(report, error)
        again, self._again = self._again, None
        if again is not None and error is None and not (report and report.cancelled):
            self.start(again)
