"""How one result is drawn in the grid: a square thumbnail (cropped, rounded), its name under it,
badges for videos (time of the best moment), scores and the words a photo was found by."""
from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.library import SearchResult
from ui.format import format_timestamp
from ui.icons import paint_placeholder
from ui.results_model import ResultRole, ResultsModel, ThumbFailedRole, text_label

PAD = 6
SPACING = 4
RADIUS = 6


def paint_cover(painter: QPainter, box: QRectF, pixmap: QPixmap, radius: float = RADIUS,
                frame: QColor | None = None, backdrop: QColor | None = None) -> None:
    """Fill ``box`` with the middle of the picture (cropped to the box's shape), rounded corners.

    ``backdrop`` shows through transparent pictures and ``frame`` draws a hairline around the box, so
    a white or transparent picture (a document scan, a logo, a light wallpaper) still reads as a
    picture on a light grid instead of an empty cell.
    """
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
    if backdrop is not None and pixmap.hasAlphaChannel():
        painter.fillRect(box, backdrop)
    painter.drawPixmap(box, pixmap, source)
    painter.restore()
    if frame is not None:
        painter.save()
        painter.setPen(frame)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(box.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        painter.restore()


def cover_colors(palette: QPalette) -> tuple[QColor, QColor]:
    """(frame, backdrop) for ``paint_cover`` in this palette: a faint line in the text colour, and the
    window colour behind transparency."""
    frame = QColor(palette.color(QPalette.ColorRole.Text))
    frame.setAlpha(40)
    return frame, QColor(palette.color(QPalette.ColorRole.Window))


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
            frame, backdrop = cover_colors(palette)
            paint_cover(painter, box, pixmap, frame=frame, backdrop=backdrop)
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
