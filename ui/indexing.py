"""Background indexing for the window: start, pause, resume, cancel, and progress.

``Library.index`` runs in a child process (``app.index_worker``, driven through ``QProcess``): its
decoding and SQLite writes would otherwise hold the window's GIL and stall the event loop. The child
streams progress as JSON lines (parsed in the GUI thread, a few a second) and takes pause/resume/
cancel on stdin. With a ``SyncTaskRunner`` (tests that want everything inline) the old in-process
path runs instead: ``Library.index`` as one long task on the runner. Its progress callback is called from
indexing threads many times a second; it only stores the latest event, and a GUI-thread timer
reads it a few times a second. The indexer therefore never waits for the GUI and the GUI is never
flooded with queued events. While embedding advances, ``new_results`` fires every couple of
seconds so an open search can refresh.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from app.errors import MediaseekError
from app.index_worker import progress_from_dict, report_from_dict
from app.library import Library
from indexer.events import IndexProgress, IndexReport
from ui.tasks import SyncTaskRunner

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
        self.in_process = isinstance(runner, SyncTaskRunner)
        self.process: QProcess | None = None
        self._buffer = b""
        self._outcome: tuple[IndexReport | None, BaseException | None] | None = None

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
        if not self.in_process:
            self._timer.start()
            self.started.emit()
            self.paused_changed.emit(False)
            self._start_process(folders)
            return

        def job() -> IndexReport:
            return library.index(folders, on_progress=box.put, cancel=cancel, pause=pause)

        self._timer.start()
        self.started.emit()
        self.paused_changed.emit(False)
        self.runner.submit(job, self._done, pool="bulk")

    def pause(self) -> None:
        if self.running and not self._pause.is_set():
            self._pause.set()
            self._send("pause")
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._pause.is_set():
            self._pause.clear()
            self._send("resume")
            self.paused_changed.emit(False)

    def cancel(self) -> None:
        """Stop after the current batch; everything committed stays indexed."""
        self._again = None
        if self.running:
            self._cancel.set()
            self._pause.clear()
            self._send("cancel")

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Cancel, wait up to ``wait_ms`` for the child to stop at a batch, then kill it (window closing)."""
        self.cancel()
        process = self.process
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            return
        process.closeWriteChannel()  # EOF cancels too
        if not process.waitForFinished(wait_ms):
            log.warning("indexing did not stop in %d ms; killing it", wait_ms)
            process.kill()
            process.waitForFinished(2000)

    # -- the child process ---------------------------------------------------------------
    def _start_process(self, folders: list[str]) -> None:
        paths = self.library.paths
        args = ["-m", "app.index_worker", "--data", str(paths.data), "--cache", str(paths.cache),
                "--logs", str(paths.logs)]
        providers = self.library._providers or [p for p in os.environ.get("MEDIASEEK_PROVIDERS", "").split(",") if p]
        if providers:
            args += ["--providers", ",".join(providers)]
        args += ["--", *folders]
        env = QProcessEnvironment.systemEnvironment()
        root = str(Path(__file__).resolve().parents[1])  # the child imports this very code
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (root, env.value("PYTHONPATH", "")) if p))
        process = QProcess(self)
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._process_finished)
        process.errorOccurred.connect(self._process_error)
        self.process = process
        self._buffer = b""
        self._outcome = None
        process.start(sys.executable, args)

    def _send(self, command: str) -> None:
        process = self.process
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
            process.write((command + "\n").encode())  # buffered by Qt until the child has started

    def _read_output(self) -> None:
        process = self.process
        if process is None:
            return
        self._buffer += bytes(process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
                kind = message.get("type")
                if kind == "progress":
                    self._box.put(progress_from_dict(message["event"]))
                elif kind == "report":
                    self._outcome = (report_from_dict(message["report"]), None)
                elif kind == "error":
                    text = message.get("message") or "indexing failed"
                    error = MediaseekError(text) if message.get("kind") == "MediaseekError" else RuntimeError(text)
                    self._outcome = (None, error)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("unreadable line from the indexing process: %r (%s)", line[:200], exc)

    def _process_finished(self, exit_code: int, exit_status) -> None:
        sender = self.sender()
        if sender is not self.process:
            return
        self._read_output()
        self._finish_process(exit_code, exit_status == QProcess.ExitStatus.CrashExit)

    def _process_error(self, error) -> None:
        if self.process is not None and error == QProcess.ProcessError.FailedToStart:
            self._outcome = (None, RuntimeError(f"could not start indexing: {self.process.errorString()}"))
            self._finish_process(-1, True)

    def _finish_process(self, exit_code: int, crashed: bool) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        outcome = self._outcome
        if outcome is None:
            how = "was killed" if crashed else f"exited with code {exit_code}"
            outcome = (None, RuntimeError(f"the indexing process {how} before finishing"))
        process.deleteLater()
        self._done(*outcome)

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
