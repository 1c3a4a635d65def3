"""The indexing progress shown in the status bar, with pause/resume and cancel."""
from __future__ import annotations

import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QToolButton, QWidget

from indexer.events import IndexProgress, IndexReport
from ui.format import format_count, format_duration
from ui.icons import themed
from ui.indexing import IndexingController
from ui.widgets import ElidedLabel


def describe_progress(event: IndexProgress, paused: bool = False) -> str:
    if event.phase == "scan":
        return f"Looking for new and changed files… {event.done:,} checked"
    if event.phase == "done":
        return "Finishing…"
    if event.phase == "text":  # the text pass, after the pictures are searchable
        parts = [f"{'Paused reading' if paused else 'Reading'} text {event.done:,} of {event.total:,}"]
        unit = "photos/s"
    else:
        parts = [f"{'Paused' if paused else 'Indexing'} {event.done:,} of {event.total:,}"]
        unit = "files/s"
    if event.rate > 0 and not paused:
        parts.append(f"{event.rate:.1f} {unit}" if event.rate < 10 else f"{event.rate:.0f} {unit}")
        eta = event.eta
        if eta is not None and event.done < event.total:
            parts.append(f"about {format_duration(eta)} left")
    if event.failed:
        parts.append(f"{event.failed:,} failed")
    return " · ".join(parts)


def describe_report(report: IndexReport | None, error: BaseException | None) -> str:
    if error is not None:
        return f"Indexing stopped: {error}"
    if report is None:
        return ""
    if report.cancelled:
        return f"Indexing cancelled — {format_count(report.embedded, 'file')} indexed, the rest waits for next time"
    if report.embedded == 0 and report.failed == 0 and not report.text_read:
        return "Library is up to date"
    if report.embedded == 0 and report.failed == 0:  # only the text pass ran (photos read for the first time)
        return f"Read text in {format_count(report.text_read, 'photo')}"
    text = f"Indexed {format_count(report.embedded, 'file')}"
    if report.failed:
        text += f", {report.failed:,} could not be read"
    return text


class IndexStatusWidget(QWidget):
    """Label, progress bar, current file, pause and cancel buttons; hidden when idle."""

    def __init__(self, controller: IndexingController, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.label = QLabel()
        self.current = ElidedLabel()
        self.current.setMaximumWidth(220)
        self.current.setEnabled(False)  # drawn dimmed: secondary information
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.pause_button = QToolButton()
        self.pause_button.setAutoRaise(True)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button = QToolButton()
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setIcon(themed("process-stop"))
        self.cancel_button.setToolTip("Stop indexing (what is done stays indexed)")
        self.cancel_button.clicked.connect(controller.cancel)
        for widget in (self.label, self.current, self.bar, self.pause_button, self.cancel_button):
            layout.addWidget(widget)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.setInterval(6000)
        self._hide_timer.timeout.connect(self.hide)
        controller.started.connect(self._on_started)
        controller.progress.connect(self._on_progress)
        controller.finished.connect(self._on_finished)
        controller.paused_changed.connect(self._on_paused)
        self._on_paused(False)
        self.hide()

    def _toggle_pause(self) -> None:
        if self.controller.paused:
            self.controller.resume()
        else:
            self.controller.pause()

    def _on_started(self) -> None:
        self._hide_timer.stop()
        self.label.setText("Starting to index…")
        self.current.set_full_text("")
        self.bar.setRange(0, 0)
        for widget in (self.bar, self.pause_button, self.cancel_button, self.current):
            widget.show()
        self.show()

    def _on_progress(self, event: IndexProgress) -> None:
        self.label.setText(describe_progress(event, self.controller.paused))
        if event.phase in ("embed", "text") and event.total:
            self.bar.setRange(0, event.total)
            self.bar.setValue(min(event.done, event.total))
        else:
            self.bar.setRange(0, 0)
        self.current.set_full_text(os.path.basename(event.current) if event.current else "")
        if event.current:
            self.current.setToolTip(event.current)

    def _on_paused(self, paused: bool) -> None:
        self.pause_button.setIcon(themed("media-playback-start" if paused else "media-playback-pause"))
        self.pause_button.setToolTip("Resume indexing" if paused else "Pause indexing")
        if self.controller.last_event is not None:
            self.label.setText(describe_progress(self.controller.last_event, paused))

    def _on_finished(self, report: IndexReport | None, error: BaseException | None) -> None:
        self.label.setText(describe_report(report, error))
        for widget in (self.bar, self.pause_button, self.cancel_button, self.current):
            widget.hide()
        self._hide_timer.start()
