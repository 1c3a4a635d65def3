"""The preview pane: a large picture of the selected result, what is known about it, the matching
moments of a video, and what can be done with it (open, show in file manager, copy path, find
similar).

Everything slow (decoding the large preview, reading details from the library) runs on the
interactive pool; the pane first shows what the search result already carries, then fills in.
"""
from __future__ import annotations

import os
from dataclasses import replace

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGridLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.library import Library, MediaDetails, SearchResult
from app.thumbnails import ThumbnailCache, ThumbnailError
from ui.format import format_date, format_size, format_timestamp
from ui.icons import paint_placeholder, themed
from ui.results_view import paint_badge, paint_cover
from ui.thumbnail_loader import ThumbKey, ThumbnailLoader
from ui.widgets import ElidedLabel

PREVIEW_PX = 1024
MOMENT_PX = 192
TimestampRole = Qt.ItemDataRole.UserRole + 1


class ImageView(QWidget):
    """Paints one picture scaled to fit, centred; a placeholder while there is none."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.kind = "photo"
        self.broken = False
        self.boxes: tuple[tuple[tuple[float, float], ...], ...] = ()  # text to highlight, corners 0..1
        self.setMinimumSize(160, 120)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_boxes(self, boxes) -> None:
        """Highlight these regions (corners normalised to the upright picture) over the picture."""
        self.boxes = tuple(tuple(corners) for corners in boxes or ())
        self.update()

    def image_rect(self) -> QRectF | None:
        """Where the picture is drawn: scaled to fit, centred; None while there is none."""
        if self.pixmap is None or self.pixmap.isNull():
            return None
        area = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        dpr = self.pixmap.devicePixelRatio() or 1.0
        w, h = self.pixmap.width() / dpr, self.pixmap.height() / dpr
        scale = min(area.width() / w, area.height() / h)
        target = QRectF(0, 0, w * scale, h * scale)
        target.moveCenter(area.center())
        return target

    def box_polygons(self) -> list[QPolygonF]:
        """The highlighted regions in widget coordinates (what paintEvent draws)."""
        target = self.image_rect()
        if target is None:
            return []
        return [QPolygonF([QPointF(target.left() + x * target.width(), target.top() + y * target.height())
                           for x, y in corners]) for corners in self.boxes if len(corners) >= 3]

    def set_pixmap(self, pixmap: QPixmap | None, kind: str = "photo", broken: bool = False) -> None:
        self.pixmap, self.kind, self.broken = pixmap, kind, broken
        self.updateGeometry()
        self.update()

    def _aspect(self) -> float:
        """Height over width of the picture, kept between portrait and wide panorama limits."""
        if self.pixmap is None or self.pixmap.isNull() or self.pixmap.width() == 0:
            return 0.75
        return max(0.4, min(1.3, self.pixmap.height() / self.pixmap.width()))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return max(self.minimumHeight(), int(width * self._aspect()))

    def sizeHint(self) -> QSize:
        return QSize(320, self.heightForWidth(320))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        if self.pixmap is None or self.pixmap.isNull():
            side = min(area.width(), area.height())
            box = QRectF(area.center().x() - side / 2, area.center().y() - side / 2, side, side)
            paint_placeholder(painter, box, self.palette(), self.kind, self.broken)
            return
        target = self.image_rect()
        painter.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))
        polygons = self.box_polygons()
        if polygons:
            painter.setClipRect(target)
            pen = QPen(QColor(255, 200, 0, 230), 2.0)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setBrush(QColor(255, 220, 0, 70))
            for polygon in polygons:
                painter.drawPolygon(polygon)


class MomentDelegate(QStyledItemDelegate):
    """One moment of a video: its picture with the time on it, like the result grid's badges."""

    SIZE = QSize(120, 72)

    def __init__(self, pane: "PreviewPane") -> None:
        super().__init__(pane)
        self.pane = pane

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return self.SIZE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        result = self.pane.result
        if result is None:
            return
        timestamp = float(index.data(TimestampRole))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        box = QRectF(option.rect).adjusted(3, 3, -3, -3)
        pixmap = self.pane.loader.pixmap(self.pane._moment_key(result, timestamp))
        if pixmap is not None:
            paint_cover(painter, box, pixmap, 4)
        else:
            paint_placeholder(painter, box, option.palette, "video")
        paint_badge(painter, box, option.font, format_timestamp(timestamp), Qt.Corner.BottomLeftCorner)
        if option.state & QStyle.StateFlag.State_Selected:
            pen = QPen(option.palette.color(QPalette.ColorRole.Highlight), 2.0)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box.adjusted(-1, -1, 1, 1), 5, 5)
        painter.restore()


class PreviewPane(QWidget):
    open_requested = Signal(str, object)  # path, timestamp (video moment) or None
    reveal_requested = Signal(str)
    copy_requested = Signal(str)
    similar_requested = Signal(str)
    image_changed = Signal()

    def __init__(self, library: Library, runner, cache: ThumbnailCache, loader: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.cache = cache
        self.loader = loader
        self.result: SearchResult | None = None
        self.score_text = None  # result -> "strong · 92 %" (set by the window; "" while browsing)
        self.details: MediaDetails | None = None
        self.moment: float | None = None
        self.setMinimumWidth(240)

        self._stack = QStackedLayout(self)
        empty = QLabel("Select a result to see it here")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setEnabled(False)
        empty.setWordWrap(True)
        self._stack.addWidget(empty)

        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.setSpacing(10)
        self.image = ImageView()
        outer.addWidget(self.image)

        self.title = ElidedLabel()
        font = QFont(self.title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.title)
        self.folder = ElidedLabel()
        self.folder.setEnabled(False)
        outer.addWidget(self.folder)

        self.moments_label = QLabel("Moments")
        bold = QFont(self.moments_label.font())
        bold.setBold(True)
        self.moments_label.setFont(bold)
        self.moments = QListWidget()
        self.moments.setFlow(QListView.Flow.LeftToRight)
        self.moments.setWrapping(False)
        self.moments.setUniformItemSizes(True)
        self.moments.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.moments.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.moments.setFrameShape(QListWidget.Shape.NoFrame)
        self.moments.setItemDelegate(MomentDelegate(self))
        self.moments.setFixedHeight(MomentDelegate.SIZE.height() + self.moments.horizontalScrollBar().sizeHint().height() + 4)
        self.moments.currentItemChanged.connect(self._moment_chosen)
        self.moments.itemActivated.connect(lambda _item: self._open())
        outer.addWidget(self.moments_label)
        outer.addWidget(self.moments)

        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(4)
        self.fields: dict[str, QLabel] = {}
        for key, label in (("date", "Date"), ("camera", "Camera"), ("dimensions", "Dimensions"),
                           ("duration", "Length"), ("size", "Size"), ("location", "Location"), ("score", "Match")):
            value = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            caption = QLabel(label)
            caption.setEnabled(False)
            self.form.addRow(caption, value)
            self.fields[key] = value
        outer.addLayout(self.form)

        self.text_label = QLabel("Text in the photo")
        self.text_label.setFont(bold)
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        self.text_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text_view.setAccessibleName("Text in the photo")
        self.copy_text_button = QPushButton(themed("edit-copy"), "Copy Text")
        self.copy_text_button.setToolTip("Copy the text read in this photo")
        self.copy_text_button.clicked.connect(self.copy_text)
        text_header = QGridLayout()
        text_header.addWidget(self.text_label, 0, 0)
        text_header.addWidget(self.copy_text_button, 0, 1, Qt.AlignmentFlag.AlignRight)
        outer.addLayout(text_header)
        outer.addWidget(self.text_view)
        self.photo_text = None  # app.text_search.PhotoText of the shown photo, once loaded
        self._show_text(None)

        self.buttons = buttons = QGridLayout()
        buttons.setHorizontalSpacing(6)
        buttons.setVerticalSpacing(6)
        self.open_button = QPushButton(themed("document-open"), "Open")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self._open)
        self.reveal_button = QPushButton(themed("folder-open"), "Show in Folder")
        self.reveal_button.clicked.connect(lambda: self.result and self.reveal_requested.emit(self.result.path))
        self.copy_button = QPushButton(themed("edit-copy"), "Copy Path")
        self.copy_button.clicked.connect(lambda: self.result and self.copy_requested.emit(self.result.path))
        self.similar_button = QPushButton(themed("edit-find"), "Find Similar")
        self.similar_button.clicked.connect(lambda: self.result and self.similar_requested.emit(self.result.path))
        self._button_columns = 0  # arranged once the scroll area exists, and on every resize of it
        outer.addLayout(buttons)
        outer.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._stack.addWidget(scroll)
        self._scroll = scroll
        scroll.viewport().installEventFilter(self)  # its width decides the buttons' columns
        self._arrange_buttons()
        self.loader.ready.connect(self._thumbnail_ready)

    # -- the buttons: two columns when they fit, else one (a narrow pane, "Open at 1:02:03") -----
    def _arrange_buttons(self) -> None:
        pairs = ((self.open_button, self.reveal_button), (self.copy_button, self.similar_button))
        left = max(b.sizeHint().width() for b, _ in pairs)
        right = max(b.sizeHint().width() for _, b in pairs)
        room = self._scroll.viewport().width() - 24  # the page's margins
        columns = 2 if left + right + self.buttons.horizontalSpacing() <= room else 1
        if columns == self._button_columns:
            return
        self._button_columns = columns
        for first, second in pairs:
            self.buttons.removeWidget(first)
            self.buttons.removeWidget(second)
        for row, (first, second) in enumerate(pairs):
            if columns == 2:
                self.buttons.addWidget(first, row, 0)
                self.buttons.addWidget(second, row, 1)
            else:
                self.buttons.addWidget(first, row * 2, 0)
                self.buttons.addWidget(second, row * 2 + 1, 0)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and watched is self._scroll.viewport():
            self._arrange_buttons()
        return super().eventFilter(watched, event)

    # -- showing a result ------------------------------------------------------------------
    def show_result(self, result: SearchResult | None) -> None:
        self.result = result
        self.details = None
        self.moment = None
        if result is None:
            self._stack.setCurrentIndex(0)
            return
        self._stack.setCurrentIndex(1)
        self.title.set_full_text(os.path.basename(result.path))
        self.folder.set_full_text(os.path.dirname(result.path))
        self.open_button.setText("Open at " + format_timestamp(result.timestamp)
                                 if result.kind == "video" and result.timestamp else "Open")
        self._arrange_buttons()
        grid = self.loader.pixmap(ThumbKey(result.path, result.kind,
                                           result.timestamp if result.kind == "video" else None,
                                           result.media_id, MOMENT_PX))
        self.image.set_pixmap(grid, result.kind)
        self._fill_basic(result)
        self._fill_moments(result)
        self.moment = result.timestamp if result.kind == "video" else None
        self._load_large(result, self.moment)
        self.image.set_boxes(result.text_boxes if result.kind == "photo" else ())
        path = result.path
        self.runner.submit(lambda: self.library.details(result.media_id),
                           lambda d, e: self._details_ready(path, d, e), pool="interactive", coalesce="details")
        self._show_text(None)
        self.reload_text()

    # -- the photo's text ------------------------------------------------------------------
    def reload_text(self) -> None:
        """Read the shown photo's text (again: after an indexing run, it may have been read since)."""
        result = self.result
        if result is not None and result.kind == "photo":
            self.runner.submit(lambda: self.library.photo_text(result.media_id),
                               lambda t, e: self._text_ready(result, t, e), pool="interactive", coalesce="photo-text")

    def _show_text(self, photo_text) -> None:
        self.photo_text = photo_text
        text = photo_text.text if photo_text is not None else ""
        self.text_view.setPlainText(text)
        shown = min(max(1, text.count("\n") + 1), 6)  # as tall as the text, up to 6 lines (then it scrolls)
        margins = self.text_view.contentsMargins()
        self.text_view.setFixedHeight(int(self.text_view.fontMetrics().lineSpacing() * shown
                                          + 2 * self.text_view.document().documentMargin()
                                          + margins.top() + margins.bottom() + 2))
        for widget in (self.text_label, self.text_view, self.copy_text_button):
            widget.setVisible(bool(text))

    def _text_ready(self, result: SearchResult, photo_text, error: BaseException | None) -> None:
        if result is not self.result:
            return  # another result was chosen meanwhile
        self._show_text(photo_text if error is None else None)

    def text_lines(self) -> list[str]:
        """The photo's text as listed in the details, line by line."""
        return [line.text for line in self.photo_text.lines] if self.photo_text is not None else []

    def copy_text(self) -> None:
        if self.photo_text is not None and self.photo_text.text:
            QGuiApplication.clipboard().setText(self.photo_text.text)

    def _fill_basic(self, result: SearchResult) -> None:
        self._set("date", format_date(result.date))
        self._set("camera", "")
        self._set("dimensions", f"{result.width} × {result.height}" if result.width and result.height else "")
        self._set("duration", "")
        self._set("size", "")
        self._set("location", "")
        self._set("score", self.score_text(result) if self.score_text else "")

    def _set(self, key: str, text: str) -> None:
        field = self.fields[key]
        field.set_full_text(text)
        visible = bool(text)
        field.setVisible(visible)
        label = self.form.labelForField(field)
        if label is not None:
            label.setVisible(visible)

    def _fill_moments(self, result: SearchResult) -> None:
        self.moments.blockSignals(True)
        self.moments.clear()
        moments = sorted(result.moments, key=lambda m: m.timestamp) if result.kind == "video" else []
        for moment in moments:
            item = QListWidgetItem(format_timestamp(moment.timestamp))
            item.setData(TimestampRole, moment.timestamp)
            words = self.score_text(replace(result, score=moment.score)) if self.score_text else ""
            item.setToolTip(f"{format_timestamp(moment.timestamp)} — {words}" if words else format_timestamp(
                moment.timestamp))
            self.moments.addItem(item)
            self.loader.pixmap(self._moment_key(result, moment.timestamp))  # start loading before it is painted
            if result.timestamp is not None and abs(moment.timestamp - result.timestamp) < 1e-6:
                self.moments.setCurrentItem(item)
        self.moments.blockSignals(False)
        self.moments_label.setVisible(bool(moments))
        self.moments.setVisible(bool(moments))

    @staticmethod
    def _moment_key(result: SearchResult, timestamp: float) -> ThumbKey:
        return ThumbKey(result.path, "video", timestamp, result.media_id, MOMENT_PX)

    def moment_labels(self) -> list[str]:
        return [self.moments.item(i).text() for i in range(self.moments.count())]

    def _moment_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None or self.result is None:
            return
        self.moment = float(item.data(TimestampRole))
        self.open_button.setText("Open at " + format_timestamp(self.moment))
        self._arrange_buttons()
        self._load_large(self.result, self.moment)

    def _load_large(self, result: SearchResult, timestamp: float | None) -> None:
        px = int(PREVIEW_PX * self.devicePixelRatioF())
        cache = self.cache

        def job() -> QImage:
            path = cache.get(result.path, px, kind=result.kind, timestamp=timestamp, media_id=result.media_id)
            image = QImage(str(path))
            if image.isNull():
                raise ThumbnailError("cannot decode preview")
            return image

        self.runner.submit(job, lambda image, error: self._large_ready(result, timestamp, image, error),
                           pool="interactive", coalesce="preview")

    def _large_ready(self, result: SearchResult, timestamp: float | None, image: QImage | None,
                     error: BaseException | None) -> None:
        if result is not self.result or timestamp != self.moment:
            return
        if image is None:
            if self.image.pixmap is None:
                self.image.set_pixmap(None, result.kind, broken=True)
            self.image.setToolTip(getattr(error, "reason", None) or str(error))
            return
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.image.setToolTip("")
        self.image.set_pixmap(pixmap, result.kind)
        self.image_changed.emit()

    def _details_ready(self, path: str, details: MediaDetails | None, error: BaseException | None) -> None:
        if self.result is None or self.result.path != path or details is None:
            return
        self.details = details
        if details.taken_at:
            self._set("date", format_date(details.taken_at))
        else:
            self._set("date", format_date(details.date, local=True) + " (file date)" if details.date else "")
        camera = " ".join(p for p in (details.camera_make, details.camera_model) if p)
        if details.camera_make and details.camera_model and details.camera_model.startswith(details.camera_make):
            camera = details.camera_model
        self._set("camera", camera)
        if details.width and details.height:
            self._set("dimensions", f"{details.width} × {details.height}")
        self._set("duration", format_timestamp(details.duration) if details.duration else "")
        self._set("size", format_size(details.size))
        if details.gps_lat is not None and details.gps_lon is not None:
            self._set("location", f"{details.gps_lat:.5f}, {details.gps_lon:.5f}")

    def _thumbnail_ready(self, key: ThumbKey) -> None:
        result = self.result
        if result is None or key.path != result.path or key.px != MOMENT_PX:
            return
        self.moments.viewport().update()
        if self.image.pixmap is None and key.timestamp == (result.timestamp if result.kind == "video" else None):
            self.image.set_pixmap(self.loader.pixmap(key), result.kind)

    def _open(self) -> None:
        if self.result is not None:
            self.open_requested.emit(self.result.path, self.moment if self.result.kind == "video" else None)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self.image.update()

