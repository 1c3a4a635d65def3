"""Video playback inside the full-window viewer (Qt Multimedia, its bundled FFmpeg backend).

A video result plays from its chosen moment; the timeline marks the result's moments as ticks and
a click near a tick seeks there. K plays/pauses, J/L seek -5/+5 s, M mutes (the viewer forwards
them). With no audio device the video still plays (Qt prints "No audio device detected").
If Qt Multimedia cannot be loaded (``available()`` is False: e.g. libpulse missing) or the player
reports an error, ``failed`` carries one line and the viewer falls back to the moment's frame.

The player's control calls (play, pause, stop, seek, source) go through ``ui.media_calls``, which
releases the GIL while the backend rebuilds its pipeline: with PySide's plain calls the window could
freeze for good when the backend's threads needed the GIL just then.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QRect, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QStyleOptionSlider, QVBoxLayout,
                               QWidget)

from ui.format import format_timestamp
from ui.media_calls import call

log = logging.getLogger(__name__)

# Qt Multimedia is loaded on first use (the first video the viewer shows): loading it and its FFmpeg
# backend costs ~0.3 s that the window's start-up should not pay (bench/bench_gui.py).
QAudioOutput = QMediaPlayer = QVideoWidget = None  # set by _load()
_IMPORT_ERROR: str | None = None
_LOADED = False


def _load() -> None:
    global QAudioOutput, QMediaPlayer, QVideoWidget, _IMPORT_ERROR, _LOADED
    if _LOADED:
        return
    _LOADED = True
    try:  # pyside6-addons carries it; a build or a system without it falls back to the frame
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        from PySide6.QtMultimediaWidgets import QVideoWidget
    except ImportError as exc:  # pragma: no cover - depends on the install
        _IMPORT_ERROR = str(exc)


SEEK_MS = 5000
TICK_SNAP_PX = 8


def available() -> bool:
    """Whether Qt Multimedia can be loaded (loads it)."""
    _load()
    return _IMPORT_ERROR is None


def unavailable_reason() -> str:
    _load()
    return _IMPORT_ERROR or ""


class Timeline(QSlider):
    """A horizontal slider in milliseconds with the video's moments drawn as ticks."""

    seek_requested = Signal(int)  # ms

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.ticks: list[int] = []  # ms
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumHeight(26)
        self.sliderMoved.connect(self.seek_requested)

    def set_ticks(self, ticks_ms: list[int]) -> None:
        self.ticks = sorted(ticks_ms)
        self.update()

    def _groove(self) -> QRect:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        return self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderGroove, self)

    def x_of(self, ms: int) -> int:
        groove = self._groove()
        span = max(1, self.maximum() - self.minimum())
        return groove.left() + round((ms - self.minimum()) / span * groove.width())

    def value_at(self, x: float) -> int:
        """The time under ``x``: a tick's own time when ``x`` is within a few pixels of it."""
        near = [t for t in self.ticks if abs(self.x_of(t) - x) <= TICK_SNAP_PX]
        if near:
            return min(near, key=lambda t: abs(self.x_of(t) - x))
        groove = self._groove()
        fraction = min(1.0, max(0.0, (x - groove.left()) / max(1, groove.width())))
        return self.minimum() + round(fraction * (self.maximum() - self.minimum()))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > 0:
            value = self.value_at(event.position().x())
            self.setValue(value)
            self.seek_requested.emit(value)
        super().mousePressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not self.ticks or self.maximum() <= 0:
            return
        painter = QPainter(self)
        painter.setPen(QColor(255, 170, 0))
        for t in self.ticks:
            x = self.x_of(t)
            painter.drawLine(x, 1, x, 6)
            painter.drawLine(x, self.height() - 7, x, self.height() - 2)


class VideoPlayer(QWidget):
    """QMediaPlayer + QVideoWidget with play/pause, a ticked timeline, time and mute."""

    failed = Signal(str)  # one line: the viewer shows the frame instead

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _load()
        self.start_ms = 0
        self.path: str | None = None
        self._pending_start = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.video = QVideoWidget()
        self.video.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.video, 1)
        bar = QWidget()
        bar.setObjectName("VideoBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 4, 10, 4)
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play / pause (K)")
        self.play_button.clicked.connect(self.toggle_play)
        self.timeline = Timeline()
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.setToolTip("Click to seek; orange ticks are the matching moments (J/L: -5/+5 s)")
        self.time_label = QLabel("0:00 / 0:00")
        self.mute_button = QPushButton("Mute")
        self.mute_button.setToolTip("Mute / unmute (M)")
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self.set_muted)
        for w in (self.play_button, self.mute_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.play_button)
        row.addWidget(self.timeline, 1)
        row.addWidget(self.time_label)
        row.addWidget(self.mute_button)
        layout.addWidget(bar)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.player.setVideoOutput(self.video)
        self.player.durationChanged.connect(self._duration)
        self.player.positionChanged.connect(self._position)
        self.player.playbackStateChanged.connect(self._state)
        self.player.mediaStatusChanged.connect(self._status)
        self.player.errorOccurred.connect(self._error)

    # -- loading -----------------------------------------------------------------------
    def load(self, path: str, start_s: float | None, moments_s: list[float]) -> None:
        """Open ``path`` and play it from ``start_s``; ``moments_s`` become the timeline's ticks."""
        self.stop()
        self.path = path
        self.start_ms = int(round((start_s or 0.0) * 1000))
        self.timeline.set_ticks([int(round(m * 1000)) for m in moments_s])
        self.timeline.setRange(0, 0)
        self._pending_start = True
        call(self.player, "setSource", QUrl.fromLocalFile(path))

    def stop(self) -> None:
        """Stop and release the file (the decoder threads end with it)."""
        self._pending_start = False
        self.path = None
        call(self.player, "stop")
        call(self.player, "setSource", QUrl())

    def _status(self, status) -> None:
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self._pending_start:
            self._pending_start = False
            if self.start_ms:
                call(self.player, "setPosition", self.start_ms)
            call(self.player, "play")
        elif status == QMediaPlayer.MediaStatus.EndOfMedia:
            self.play_button.setText("Replay")
        elif status == QMediaPlayer.MediaStatus.InvalidMedia and self.path is not None:
            self._error(None, self.player.errorString() or "unsupported or damaged file")

    def _error(self, _error, message: str) -> None:
        if self.path is None:
            return
        log.info("cannot play %s: %s", self.path, message)
        self.stop()
        self.failed.emit(f"Cannot play this video ({message.strip() or 'unknown error'}); showing its moment")

    # -- controls ----------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            call(self.player, "pause")
        elif self.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
            call(self.player, "setPosition", 0)  # at the end: play again from the start
            call(self.player, "play")
        else:
            call(self.player, "play")

    def seek(self, ms: int) -> None:
        call(self.player, "setPosition", max(0, min(int(ms), max(0, self.player.duration()))))

    def seek_by(self, delta_ms: int) -> None:
        self.seek(self.player.position() + delta_ms)

    def set_muted(self, muted: bool) -> None:
        self.audio.setMuted(muted)
        self.mute_button.setChecked(muted)
        self.mute_button.setText("Unmute" if muted else "Mute")

    def toggle_mute(self) -> None:
        self.set_muted(not self.audio.isMuted())

    # -- reflecting the player ---------------------------------------------------------
    def _duration(self, ms: int) -> None:
        self.timeline.setRange(0, max(0, ms))
        self._position(self.player.position())

    def _position(self, ms: int) -> None:
        if not self.timeline.isSliderDown():
            self.timeline.blockSignals(True)
            self.timeline.setValue(ms)
            self.timeline.blockSignals(False)
        self.time_label.setText(f"{format_timestamp(ms / 1000)} / {format_timestamp(self.player.duration() / 1000)}")

    def _state(self, state) -> None:
        if state == QMediaPlayer.PlaybackState.PlayingState:
            self.play_button.setText("Pause")
        elif self.player.mediaStatus() != QMediaPlayer.MediaStatus.EndOfMedia:
            self.play_button.setText("Play")
