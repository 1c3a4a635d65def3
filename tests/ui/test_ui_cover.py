"""A white or transparent picture still reads as a picture in the grid (ui/result_delegate.paint_cover)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap

from ui.result_delegate import cover_colors, paint_cover

WHITE = QColor("white").rgb()


def _paint(pixmap: QPixmap, **kwargs) -> QImage:
    canvas = QImage(120, 120, QImage.Format.Format_RGB32)
    canvas.fill(Qt.GlobalColor.white)
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_cover(painter, QRectF(10, 10, 100, 100), pixmap, 6, **kwargs)
    painter.end()
    return canvas


def test_a_white_picture_gets_a_visible_edge_on_a_white_grid(qapp):
    white = QPixmap(200, 150)
    white.fill(Qt.GlobalColor.white)
    frame, backdrop = cover_colors(QPalette(QColor("white")))
    plain = _paint(white)
    framed = _paint(white, frame=frame, backdrop=backdrop)
    assert plain.pixel(10, 60) == WHITE  # without a frame the cell is indistinguishable from the grid
    assert framed.pixel(10, 60) != WHITE and framed.pixel(60, 10) != WHITE  # the box's edges show
    assert framed.pixel(60, 60) == WHITE  # the picture itself is untouched
    assert framed.pixel(5, 60) == WHITE  # nothing drawn outside the box


def test_transparent_pixels_show_the_backdrop(qapp):
    clear = QPixmap(100, 100)
    clear.fill(Qt.GlobalColor.transparent)
    backdrop = QColor(200, 210, 220)
    painted = _paint(clear, backdrop=backdrop)
    assert QColor(painted.pixel(60, 60)) == backdrop
    opaque = QPixmap(100, 100)
    opaque.fill(QColor(10, 20, 30))
    assert QColor(_paint(opaque, backdrop=backdrop).pixel(60, 60)) == QColor(10, 20, 30)
