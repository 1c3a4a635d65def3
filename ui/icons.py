"""The app icon and the few icons the window uses.

Toolbar icons come from the desktop's icon theme when it has them (so they match the user's other
apps) and fall back to Qt's built-in standard icons. Placeholders for thumbnails are painted, so
they follow the palette in light and dark mode.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

RESOURCES = Path(__file__).resolve().parent / "resources"
APP_ICON = RESOURCES / "mediaseek.svg"

# theme name -> Qt standard pixmap used when the theme lacks it
_FALLBACKS = {
    "document-open": QStyle.StandardPixmap.SP_DialogOpenButton,
    "folder-open": QStyle.StandardPixmap.SP_DirOpenIcon,
    "folder": QStyle.StandardPixmap.SP_DirIcon,
    "folder-new": QStyle.StandardPixmap.SP_FileDialogNewFolder,
    "list-add": QStyle.StandardPixmap.SP_FileDialogNewFolder,
    "list-remove": QStyle.StandardPixmap.SP_TrashIcon,
    "edit-copy": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "edit-find": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "edit-clear": QStyle.StandardPixmap.SP_LineEditClearButton,
    "media-playback-pause": QStyle.StandardPixmap.SP_MediaPause,
    "media-playback-start": QStyle.StandardPixmap.SP_MediaPlay,
    "process-stop": QStyle.StandardPixmap.SP_BrowserStop,
    "view-refresh": QStyle.StandardPixmap.SP_BrowserReload,
    "dialog-warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "dialog-error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "dialog-information": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "drive-harddisk": QStyle.StandardPixmap.SP_DriveHDIcon,
    "system-search": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "window-close": QStyle.StandardPixmap.SP_TitleBarCloseButton,
}


def magnifier_icon(color: QColor, size: int = 64) -> QIcon:
    """A plain magnifying glass in ``color`` (the search field and empty results), drawn so it
    looks the same with or without an icon theme."""
    icon = QIcon()
    for px in (16, 24, 32, 48, 64, 96, 128):
        pixmap = QPixmap(px, px)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(color, max(1.5, px / 10))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        r = px * 0.28
        centre = QPointF(px * 0.42, px * 0.42)
        painter.drawEllipse(centre, r, r)
        painter.drawLine(QPointF(px * 0.62, px * 0.62), QPointF(px * 0.86, px * 0.86))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def app_icon() -> QIcon:
    icon = QIcon(str(APP_ICON))
    return icon if not icon.isNull() else QIcon.fromTheme("system-search")


def themed(name: str) -> QIcon:
    icon = QIcon.fromTheme(name)
    if icon.isNull() and name in _FALLBACKS:
        icon = QApplication.style().standardIcon(_FALLBACKS[name])
    return icon


def paint_placeholder(painter: QPainter, rect: QRectF, palette: QPalette, kind: str, broken: bool = False) -> None:
    """A neutral tile with a small mountain-and-sun (photo) or play (video) glyph."""
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    tile = mix(base, text, 0.08)
    glyph = mix(base, text, 0.30 if not broken else 0.18)
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(tile)
    painter.drawRoundedRect(rect, 6, 6)
    side = min(rect.width(), rect.height()) * 0.34
    c = rect.center()
    painter.setBrush(glyph)
    if kind == "video":
        path = QPainterPath()
        path.moveTo(c + QPointF(-side * 0.35, -side * 0.45))
        path.lineTo(c + QPointF(side * 0.5, 0))
        path.lineTo(c + QPointF(-side * 0.35, side * 0.45))
        path.closeSubpath()
        painter.drawPath(path)
    else:
        frame = QRectF(c.x() - side * 0.6, c.y() - side * 0.45, side * 1.2, side * 0.9)
        mountains = QPainterPath()
        mountains.moveTo(frame.bottomLeft())
        mountains.lineTo(frame.left() + frame.width() * 0.38, frame.top() + frame.height() * 0.35)
        mountains.lineTo(frame.left() + frame.width() * 0.6, frame.top() + frame.height() * 0.65)
        mountains.lineTo(frame.left() + frame.width() * 0.75, frame.top() + frame.height() * 0.5)
        mountains.lineTo(frame.bottomRight())
        mountains.closeSubpath()
        painter.drawPath(mountains)
        sun = side * 0.14
        painter.drawEllipse(QPointF(frame.right() - side * 0.25, frame.top() + side * 0.18), sun, sun)
    if broken:
        pen_color = mix(base, text, 0.45)
        painter.setPen(pen_color)
        painter.drawLine(QPointF(c.x() - side * 0.7, c.y() + side * 0.7), QPointF(c.x() + side * 0.7, c.y() - side * 0.7))
    painter.restore()


def mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )

