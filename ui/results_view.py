"""The thumbnail grid: a QListView in icon mode drawn by one delegate.

Only the rows on screen are painted, so only their thumbnails are requested. Cells stretch to
fill the row exactly (no ragged gap on the right), thumbnails are square crops at the screen's
pixel density, and videos carry a badge with the time of their best moment.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.library import SearchResult
from ui.format import format_timestamp
from ui.icons import paint_placeholder
from ui.results_model import (
    ResultRole,
    ResultsModel,
    SectionRole,
    SectionStartRole,
    ThumbFailedRole,
    text_label,
    thumb_bucket,
)

PAD = 6
SPACING = 4
RADIUS = 6


def paint_cover(painter: QPainter, box: QRectF, pixmap: QPixmap, radius: float = RADIUS) -> None:
    """Fill ``box`` with the middle of the picture (cropped to the box's shape), rounded corners."""
    w, h = pixmap.width(), pixmap.height()
    if w <= 0 or h <= 0 or box.height() <= 0:
        return
    ratio = box.width() / box.height()
    sw, sh = (h * ratio, h) if w / h > ratio else (w, w / ratio)
    source = QRectF((w - sw) / 2, (h - sh) / 2, sw, sh)
    clip = QPainterPath()
    clip.addRoundedRect(box, radius, radius)
    painter.save()
    painter.setClipPath(clip)
    painter.drawPixmap(box, pixmap, source)
    painter.restore()


def paint_badge(painter: QPainter, box: QRectF, font: QFont, text: str, corner: Qt.Corner) -> None:
    """A small white-on-dark pill in a corner of ``box`` (scores, times)."""
    small = QFont(font)
    small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    metrics = QFontMetrics(small)
    width, height = metrics.horizontalAdvance(text) + 12, metrics.height() + 4
    right = corner in (Qt.Corner.TopRightCorner, Qt.Corner.BottomRightCorner)
    bottom = corner in (Qt.Corner.BottomLeftCorner, Qt.Corner.BottomRightCorner)
    margin = 4 if box.height() < 100 else 6
    x = box.right() - width - margin if right else box.left() + margin
    y = box.bottom() - height - margin if bottom else box.top() + margin
    pill = QRectF(x, y, width, height)
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 165))
    painter.drawRoundedRect(pill, height / 2, height / 2)
    painter.setFont(small)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


class ResultDelegate(QStyledItemDelegate):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thumb_size = 168
        self.show_scores = False
        self.browsing = False  # no query: no scores to show
        self.last_text_badge = ""

    def cell_size(self, option_font: QFont) -> QSize:
        line = QFontMetrics(option_font).height()
        return QSize(self.thumb_size + 2 * PAD, self.thumb_size + 2 * PAD + line + 2)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self.cell_size(option.font)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        result: SearchResult | None = index.data(ResultRole)
        if result is None:
            return
        palette: QPalette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        cell = QRectF(option.rect).adjusted(1, 1, -1, -1)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if selected:
            fill = QColor(highlight)
            fill.setAlpha(70 if option.state & QStyle.StateFlag.State_Active else 45)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(cell, RADIUS + 2, RADIUS + 2)
        elif hovered:
            fill = QColor(palette.color(QPalette.ColorRole.Text))
            fill.setAlpha(18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(cell, RADIUS + 2, RADIUS + 2)

        side = min(self.thumb_size, cell.width() - 2 * PAD)
        box = QRectF(cell.center().x() - side / 2, cell.top() + PAD, side, side)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            paint_cover(painter, box, pixmap)
        else:
            paint_placeholder(painter, box, palette, result.kind, broken=bool(index.data(ThumbFailedRole)))
        if selected:
            painter.setPen(QColor(highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            pen = painter.pen()
            pen.setWidthF(2.0)
            painter.setPen(pen)
            painter.drawRoundedRect(box.adjusted(-1, -1, 1, 1), RADIUS + 1, RADIUS + 1)

        if result.kind == "video":
            self._paint_video_badge(painter, box, option.font, result)
        if self.show_scores and not self.browsing:
            model = index.model()
            text = model.score_text(result) if isinstance(model, ResultsModel) else ""
            if text:
                paint_badge(painter, box, option.font, text, Qt.Corner.TopRightCorner)
        if result.text:
            self._paint_text_badge(painter, box, option.font, text_label(result))
        if index.data(SectionStartRole):
            paint_badge(painter, box, option.font, index.data(SectionRole) or "", Qt.Corner.TopLeftCorner)

        text_rect = QRectF(cell.left() + PAD, box.bottom() + 2, cell.width() - 2 * PAD,
                           cell.bottom() - box.bottom() - 2)
        metrics = QFontMetrics(option.font)
        name = metrics.elidedText(os.path.basename(result.path), Qt.TextElideMode.ElideMiddle, int(text_rect.width()))
        painter.setFont(option.font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name)
        if option.state & QStyle.StateFlag.State_HasFocus and selected:
            pass  # the selection frame already shows focus; no dotted rectangle
        painter.restore()

    def _paint_text_badge(self, painter: QPainter, box: QRectF, font: QFont, label: str) -> None:
        """The words the photo was found by, in a pill along the thumbnail's bottom edge (inside the
        picture, so the cell keeps its size)."""
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        metrics = QFontMetrics(small)
        margin = 4 if box.height() < 100 else 6
        room = int(box.width() - 2 * margin - 12)
        if room < 24:
            return
        shown = metrics.elidedText(label, Qt.TextElideMode.ElideRight, room)
        width, height = metrics.horizontalAdvance(shown) + 12, metrics.height() + 4
        pill = QRectF(box.left() + margin, box.bottom() - height - margin, width, height)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 175))
        painter.drawRoundedRect(pill, 4, 4)
        painter.setFont(small)
        painter.setPen(QColor(255, 236, 140))  # the preview's highlight colour: "these words"
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, shown)
        painter.restore()
        self.last_text_badge = shown  # what was drawn last (tests)

    def _paint_video_badge(self, painter: QPainter, box: QRectF, font: QFont, result: SearchResult) -> None:
        label = format_timestamp(result.timestamp) if result.timestamp is not None else ""
        if not label and result.duration:
            label = format_timestamp(result.duration)  # browsing: the video's length
        extra = len(result.moments) - 1
        if extra > 0:
            label = f"{label}  +{extra}" if label else f"+{extra}"
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        small.setBold(True)
        metrics = QFontMetrics(small)
        tri = metrics.height() * 0.55
        width = tri + (metrics.horizontalAdvance(label) + 6 if label else 0) + 12
        height = metrics.height() + 4
        pill = QRectF(box.left() + 6, box.bottom() - height - 6, width, height)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 165))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setBrush(QColor(255, 255, 255))
        cx, cy = pill.left() + 6, pill.center().y()
        triangle = QPainterPath()
        triangle.moveTo(QPointF(cx, cy - tri / 2))
        triangle.lineTo(QPointF(cx + tri * 0.85, cy))
        triangle.lineTo(QPointF(cx, cy + tri / 2))
        triangle.closeSubpath()
        painter.drawPath(triangle)
        if label:
            painter.setFont(small)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRectF(cx + tri + 4, pill.top(), pill.right() - cx - tri - 4, pill.height()),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
        painter.restore()

class ResultsView(QListView):
    open_requested = Signal(QModelIndex)  # Enter: in the file's application
    view_requested = Signal(QModelIndex)  # Space, double-click: in the full-window viewer

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.delegate = ResultDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setSpacing(0)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.doubleClicked.connect(self.view_requested)
        self.header = QLabel(self)
        self.header.setObjectName("MonthHeader")
        font = QFont(self.font())
        font.setBold(True)
        self.header.setFont(font)
        self.header.setContentsMargins(PAD * 2, 4, PAD * 2, 4)
        self.header.setAutoFillBackground(True)
        self.header.hide()
        self._update_grid()

    # -- sizing ----------------------------------------------------------------------------
    def set_thumb_size(self, size: int) -> None:
        self.delegate.thumb_size = size
        self._update_grid()

    def set_show_scores(self, show: bool) -> None:
        self.delegate.show_scores = show
        self.viewport().update()

    def thumb_pixels(self) -> int:
        """Pixels a thumbnail needs on this screen: enough to crop a 4:3 picture to the square."""
        return thumb_bucket(self.delegate.thumb_size * self.devicePixelRatioF() * 4 / 3)

    def _update_grid(self) -> None:
        cell = self.delegate.cell_size(self.font())
        # Leave room for the scroll bar even before it appears, so adding it never re-wraps rows.
        bar = 0 if self.verticalScrollBar().isVisible() else max(
            self.verticalScrollBar().sizeHint().width(),
            self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self))
        available = max(1, self.viewport().width() - bar - 4)
        columns = max(1, available // (cell.width() + SPACING))
        width = max(cell.width(), available // columns)
        grid = QSize(width, cell.height() + SPACING)
        if grid != self.gridSize():
            self.setGridSize(grid)
        model = self.model()
        if isinstance(model, ResultsModel):
            px = self.thumb_pixels()
            if model.thumb_px != px:
                model.thumb_px = px
                model.loader.device_pixel_ratio = self.devicePixelRatioF()
                self.viewport().update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_grid()
        self.update_header()

    def setModel(self, model) -> None:  # noqa: N802 - Qt override
        super().setModel(model)
        if isinstance(model, ResultsModel):
            model.thumbnails_arrived.connect(self.viewport().update)
            model.modelReset.connect(self.update_header)
            model.rowsInserted.connect(self.update_header)
        self._update_grid()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange):
            self._update_grid()
            self.viewport().update()

    # -- the month header that stays on top while scrolling ---------------------------------
    def header_text(self) -> str | None:
        """The month of the first item on screen, when the grid is in date order."""
        model = self.model()
        if not isinstance(model, ResultsModel) or not model.sectioned or model.rowCount() == 0:
            return None
        index = self.indexAt(QPoint(PAD * 2, PAD * 2))
        if not index.isValid():
            index = model.index(0)
        return index.data(SectionRole)

    def update_header(self) -> None:
        """Show the month header above the grid (outside the items, so it covers none of them)."""
        text = self.header_text()
        if not text:
            if self.header.isVisible():
                self.header.hide()
                self.setViewportMargins(0, 0, 0, 0)
            return
        height = self.header.sizeHint().height()
        if not self.header.isVisible():
            self.setViewportMargins(0, height, 0, 0)
            self.header.show()
        self.header.setGeometry(0, 0, self.width() - self.verticalScrollBar().width()
                                if self.verticalScrollBar().isVisible() else self.width(), height)
        if self.header.text() != text:
            self.header.setText(text)

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt override
        super().scrollContentsBy(dx, dy)
        self.update_header()

    # -- keyboard --------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        if event.key() == Qt.Key.Key_Space and not event.modifiers() and self.currentIndex().isValid():
            self.view_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def visible_rows(self) -> range:
        """Rows currently on screen (tests and benchmarks)."""
        model = self.model()
        if model is None or model.rowCount() == 0:
            return range(0)
        rect = self.viewport().rect()
        top = self.indexAt(rect.topLeft() + QPoint(PAD, PAD))
        bottom = self.indexAt(rect.bottomRight() - QPoint(PAD, PAD))
        first = top.row() if top.isValid() else 0
        last = bottom.row() if bottom.isValid() else model.rowCount() - 1
        return range(first, last + 1)
