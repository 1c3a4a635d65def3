"""The full-window viewer: Space or a double-click on a result shows it as large as the window.

Left/Right step through the grid's order (results or browse order, reading further pages as it
goes), F toggles fit / 100 %, Enter opens the file in its application, Esc (or Space) goes back to
the same place in the grid. Photos are read at full size (EXIF orientation applied) off the GUI
thread; a video plays from its moment (ui.video_player: K play/pause, J/L -5/+5 s, M mute, its
moments ticked on the timeline). Leaving it or stepping on stops it and releases the file; where
Qt Multimedia cannot load or play it, the moment's frame shows with "Open at m:ss" and one line why.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QImageReader, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedLayout, QVBoxLayout, QWidget

from app.library import SearchResult
from app.thumbnails import ThumbnailCache
from ui import video_player
from ui.format import format_date, format_timestamp

log = logging.getLogger(__name__)

VIDEO_FRAME_PX = 1600
KEYS = (Qt.Key.Key_Escape, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Space, Qt.Key.Key_F,
        Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_K, Qt.Key.Key_J,
        Qt.Key.Key_L, Qt.Key.Key_M)


class _Canvas(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.fit = True
        self.message = ""
        self.offset = QPointF(0, 0)  # panning at 100 %
        self._drag: QPointF | None = None

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 16))
        if self.pixmap is None or self.pixmap.isNull():
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        w, h = self.pixmap.width(), self.pixmap.height()
        if self.fit:
            scale = min(self.width() / w, self.height() / h, 1.0 if w >= 64 else 8.0)
        else:
            scale = 1.0 / self.devicePixelRatioF()
        tw, th = w * scale, h * scale
        x = (self.width() - tw) / 2 + (0 if self.fit else self.offset.x())
        y = (self.height() - th) / 2 + (0 if self.fit else self.offset.y())
        painter.drawPixmap(QRectF(x, y, tw, th), self.pixmap, QRectF(0, 0, w, h))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._drag = event.position()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None and not self.fit:
            self.offset += event.position() - self._drag
            self._drag = event.position()
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None


class Viewer(QWidget):
    closed = Signal(int)  # the row shown last: the grid goes back there
    open_requested = Signal(str, object)  # path, timestamp

    def __init__(self, cache: ThumbnailCache, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.runner = runner
        self.model = None
        self.row = -1
        self.result: SearchResult | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        bar = QWidget()
        bar.setObjectName("ViewerBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 6, 10, 6)
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("Back to the grid (Esc)")
        self.back_button.clicked.connect(self.close_viewer)
        self.title = QLabel()
        self.position = QLabel()
        self.prev_button = QPushButton("‹")
        self.prev_button.setToolTip("Previous (Left)")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("›")
        self.next_button.setToolTip("Next (Right)")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.zoom_button = QPushButton("100 %")
        self.zoom_button.setToolTip("Fit to the window / actual size (F)")
        self.zoom_button.clicked.connect(self.toggle_zoom)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self.open_current)
        for w in (self.back_button, self.prev_button, self.next_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.back_button)
        row.addWidget(self.prev_button)
        row.addWidget(self.next_button)
        row.addSpacing(8)
        row.addWidget(self.title, 1)
        row.addWidget(self.position)
        row.addWidget(self.zoom_button)
        row.addWidget(self.open_button)
        for w in (self.zoom_button, self.open_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(bar)
        self.canvas = _Canvas()
        self.stack = QStackedLayout()
        self.stack.addWidget(self.canvas)
        self.player: video_player.VideoPlayer | None = None  # made for the first video shown
        self.play_note = ""  # why a video shows its frame instead of playing
        layout.addLayout(self.stack, 1)
        self.hide()

    # -- showing -----------------------------------------------------------------------
    def show_row(self, model, row: int) -> None:
        self.model = model
        self._go(row)
        self.show()
        self.raise_()
        self.setFocus()

    def _go(self, row: int) -> None:
        result = self.model.result(row) if self.model is not None else None
        if result is None:
            return
        self.row, self.result = row, result
        total = self.model.rowCount()
        more = "+" if self.model.canFetchMore() else ""
        self.position.setText(f"{row + 1:,} of {total:,}{more}")
        when = format_date(result.date)
        self.title.setText(f"{os.path.basename(result.path)}" + (f"  ·  {when}" if when else ""))
        self.title.setToolTip(result.path)
        video = result.kind == "video"
        self.open_button.setText(f"Open at {format_timestamp(result.timestamp)}" if video and result.timestamp
                                 else "Open")
        self.canvas.pixmap = None
        self.canvas.offset = QPointF(0, 0)
        self.canvas.message = "Loading…"
        self.canvas.update()
        self._play(result)
        self._load(result)
        if row >= total - 2 and self.model.canFetchMore():
            self.model.fetchMore()  # stepping reaches the end of what was read: read on

    def _load(self, result: SearchResult) -> None:
        cache = self.cache

        def job() -> QImage:
            if result.kind == "video":
                path = cache.get(result.path, VIDEO_FRAME_PX, kind="video", timestamp=result.timestamp,
                                 media_id=result.media_id)
                return QImage(str(path))
            reader = QImageReader(result.path)
            reader.setAutoTransform(True)
            image = reader.read()
            if image.isNull():
                raise OSError(reader.errorString())
            return image

        self.runner.submit(job, lambda image, error: self._loaded(result, image, error), pool="interactive",
                           coalesce="viewer")

    def _loaded(self, result: SearchResult, image: QImage | None, error: BaseException | None) -> None:
        if result is not self.result:
            return
        if error is not None or image is None or image.isNull():
            self.canvas.message = f"Cannot show {os.path.basename(result.path)}: {error or 'unreadable'}"
            if self.play_note:
                self.canvas.message += f"\n{self.play_note}"
            self.canvas.pixmap = None
        else:
            pixmap = QPixmap.fromImage(image)
            self.canvas.pixmap = pixmap
            note = ""
            if result.kind == "video" and not self.playing_video():
                note = f"  ({self.play_note})" if self.play_note else "  (a frame of the video; Open plays it)"
            self.title.setText(self.title.text().split("  (")[0] + note)
        self.canvas.update()

    def _ensure_player(self) -> video_player.VideoPlayer | None:
        if self.player is None and video_player.available():
            self.player = video_player.VideoPlayer()
            self.player.failed.connect(self._play_failed)
            self.stack.addWidget(self.player)
        return self.player

    def _play(self, result: SearchResult) -> None:
        """Play a video from its moment when Qt Multimedia can; otherwise the canvas shows its frame."""
        self.play_note = ""
        self.zoom_button.show()
        if result.kind != "video":
            if self.player is not None:
                self.player.stop()
            self.stack.setCurrentWidget(self.canvas)
            return
        if self._ensure_player() is None:
            self.play_note = f"Cannot play videos here (Qt Multimedia: {video_player.unavailable_reason()})"
            return
        self.stack.setCurrentWidget(self.player)
        self.zoom_button.hide()  # fit/100 % is for pictures
        self.player.load(result.path, result.timestamp, [m.timestamp for m in result.moments] or
                         ([result.timestamp] if result.timestamp is not None else []))

    def _play_failed(self, message: str) -> None:
        self.play_note = message
        self.zoom_button.show()
        self.stack.setCurrentWidget(self.canvas)
        if self.canvas.pixmap is not None:
            self.title.setText(self.title.text().split("  (")[0] + f"  ({message})")
        else:
            self.canvas.message = message

    # -- moving ------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        if self.model is None:
            return
        row = max(0, min(self.model.rowCount() - 1, self.row + delta))
        if row != self.row:
            self._go(row)

    def playing_video(self) -> bool:
        """Whether the player (not the frame) shows the current item."""
        return self.player is not None and self.stack.currentWidget() is self.player

    def toggle_zoom(self) -> None:
        self.canvas.fit = not self.canvas.fit
        self.canvas.offset = QPointF(0, 0)
        self.zoom_button.setText("100 %" if self.canvas.fit else "Fit")
        self.canvas.update()

    def open_current(self) -> None:
        if self.result is not None:
            self.open_requested.emit(self.result.path,
                                     self.result.timestamp if self.result.kind == "video" else None)

    def close_viewer(self) -> None:
        if self.isVisible():
            if self.player is not None:
                self.player.stop()
            self.hide()
            self.closed.emit(self.row)

    # -- keys --------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        # the window's shortcuts (Esc clears the search) must not take these keys from the viewer
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and event.key() in KEYS:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Escape, Qt.Key.Key_Space):
            self.close_viewer()
        elif key == Qt.Key.Key_Left:
            self.step(-1)
        elif key == Qt.Key.Key_Right:
            self.step(1)
        elif key == Qt.Key.Key_Home:
            self.step(-self.row)
        elif key == Qt.Key.Key_End and self.model is not None:
            self.step(self.model.rowCount())
        elif key == Qt.Key.Key_F and not self.playing_video():
            self.toggle_zoom()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_current()
        elif key in (Qt.Key.Key_K, Qt.Key.Key_J, Qt.Key.Key_L, Qt.Key.Key_M) and self.playing_video():
            {Qt.Key.Key_K: self.player.toggle_play, Qt.Key.Key_M: self.player.toggle_mute,
             Qt.Key.Key_J: lambda: self.player.seek_by(-video_player.SEEK_MS),
             Qt.Key.Key_L: lambda: self.player.seek_by(video_player.SEEK_MS)}[key]()
        else:
            super().keyPressEvent(event)
