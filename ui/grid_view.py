"""A thumbnail grid with day sections: ``SectionedGrid``, a ``QAbstractItemView`` on ``GridLayout``.

When the items are in date order each day starts on a new row under a small day header, each
month under a larger title; the title of the month at the top stays pinned there (``header``, a
label over the viewport) and is pushed up by the next month's title as it arrives. Without
sections it is a plain uniform grid. Cells stretch to fill a row exactly, and room for the scroll
bar is kept even while it is hidden, so showing it never re-wraps the rows. Only what is on
screen is painted (through the item delegate), so only those thumbnails are asked for.
"""
from __future__ import annotations

from datetime import date

import numpy as np
from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QRegion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QRubberBand,
    QStyle,
    QStyleOptionRubberBand,
    QStyleOptionViewItem,
)

from ui.grid_layout import NO_DATE, GridLayout, Metrics, date_keys, day_title, month_title

SPACING = 4
MARGIN = 2  # left and right of the cells
TEXT_X = 12  # where header text starts
_Action = QAbstractItemView.CursorAction
_Flag = QItemSelectionModel.SelectionFlag


class SectionedGrid(QAbstractItemView):
    """Subclasses say whether the items are sectioned (``is_sectioned``), give their dates
    (``item_dates``) and the cell size (``cell_size``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.layout_ = GridLayout(0, Metrics(1, 1, 1))
        self._days = np.zeros(0, dtype=np.int64)
        self._months = np.zeros(0, dtype=np.int64)
        self._hover = -1
        self._band_origin: QPoint | None = None  # content coordinates of a rubber band's start
        self._band = QRect()
        self._band_base = QItemSelection()
        self.header = QLabel(self.viewport())
        self.header.setObjectName("MonthHeader")
        self.header.setAutoFillBackground(True)
        self.header.setBackgroundRole(QPalette.ColorRole.Base)
        self.header.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.header.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.header.hide()
        self._fonts()

    # -- what subclasses provide -----------------------------------------------------------
    def is_sectioned(self) -> bool:
        return False

    def item_dates(self, first: int, last: int) -> list:
        """Dates (epoch seconds or None) of rows first..last."""
        return [None] * (last - first + 1)

    def cell_size(self) -> QSize:
        return QSize(100, 100)

    # -- fonts and sizes -------------------------------------------------------------------
    def _fonts(self) -> None:
        base = QFont(self.font())
        self.month_font = QFont(base)
        self.month_font.setBold(True)
        self.month_font.setPointSizeF(base.pointSizeF() * 1.4 if base.pointSizeF() > 0 else 14)
        self.day_font = QFont(base)
        self.day_font.setWeight(QFont.Weight.DemiBold)
        self.month_h = QFontMetrics(self.month_font).height() + 18
        self.day_h = QFontMetrics(self.day_font).height() + 12
        self.header.setFont(self.month_font)
        self.header.setContentsMargins(TEXT_X, 0, TEXT_X, 0)

    def _metrics(self) -> Metrics:
        cell = self.cell_size()
        bar = self.verticalScrollBar()
        # the scroll bar's room is kept even while it is hidden, so showing it never re-wraps rows
        reserve = 0 if bar.isVisible() else max(
            bar.sizeHint().width(), self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self))
        available = max(1, self.viewport().width() - reserve - 2 * MARGIN)
        pitch = cell.width() + SPACING
        columns = max(1, available // pitch)
        width = max(pitch, available // columns)
        sectioned = self.is_sectioned()
        return Metrics(columns=columns, cell_w=width, cell_h=cell.height() + SPACING,
                       day_h=self.day_h if sectioned else 0, month_h=self.month_h if sectioned else 0,
                       left=MARGIN, top=0 if sectioned else MARGIN, bottom=SPACING)

    # -- layout ----------------------------------------------------------------------------
    def _read_keys(self, first: int = 0) -> None:
        """Day/month keys of rows from ``first`` on (earlier rows keep theirs)."""
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if n <= first:
            self._days, self._months = self._days[:n], self._months[:n]
            return
        days, months = date_keys(self.item_dates(first, n - 1))
        self._days = np.concatenate([self._days[:first], days])
        self._months = np.concatenate([self._months[:first], months])

    def relayout(self, keep_top: bool = True) -> None:
        """Lay everything out again (size, cell size or content changed); the item at the top stays there."""
        anchor, shift = -1, 0
        old = self.layout_
        if keep_top and old.n and self.verticalScrollBar().value() > 0:
            y = self.verticalScrollBar().value() + (old.m.month_h if old.sectioned else 0)
            # the first row not hidden under the pinned title
            row = min(int(np.searchsorted(old.row_y + old.m.cell_h, y, side="right")), len(old.row_y) - 1)
            anchor, shift = int(old.row_first[row]), int(old.row_y[row]) - self.verticalScrollBar().value()
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if len(self._days) != n:
            self._read_keys(min(len(self._days), n))
        sectioned = self.is_sectioned()
        self.layout_ = GridLayout(n, self._metrics(), self._days if sectioned else None,
                                  self._months if sectioned else None)
        self.updateGeometries()
        if 0 <= anchor < n:
            _, y = self.layout_.item_pos(anchor)
            self.verticalScrollBar().setValue(y - shift)
        self.update_header()
        self.viewport().update()

    def _ensure_layout(self) -> None:
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if self.layout_.n != n or self.layout_.sectioned != (self.is_sectioned() and n > 0):
            self.relayout()

    def setModel(self, model) -> None:  # noqa: N802 - Qt override
        super().setModel(model)
        if model is not None:
            model.modelReset.connect(self._model_reset)
            model.rowsInserted.connect(self._rows_inserted)
            model.rowsRemoved.connect(self._rows_removed)
            model.layoutChanged.connect(self._rows_removed)
        self._model_reset()

    def _model_reset(self) -> None:
        self._days = self._days[:0]
        self._months = self._months[:0]
        self._hover = -1
        self.relayout(keep_top=False)
        self.verticalScrollBar().setValue(0)
        self.update_header()

    def _rows_inserted(self, parent: QModelIndex, first: int, _last: int) -> None:
        if parent.isValid():
            return
        if first < len(self._days):  # not an append: earlier keys move
            self._days, self._months = self._days[:first], self._months[:first]
        self.relayout(keep_top=False)  # rows come in below (or shift): the scroll position stays

    def _rows_removed(self, *args) -> None:
        """Rows gone (trashed, moved): what follows moves up into their place, the scroll position stays."""
        self._days = self._days[:0]
        self._months = self._months[:0]
        self._hover = -1
        self.relayout(keep_top=False)

    def updateGeometries(self) -> None:  # noqa: N802 - Qt override
        bar = self.verticalScrollBar()
        height = self.viewport().height()
        bar.setRange(0, max(0, self.layout_.height - height))
        bar.setPageStep(max(1, height))
        bar.setSingleStep(max(8, self.layout_.m.cell_h // 4))
        self.horizontalScrollBar().setRange(0, 0)
        super().updateGeometries()  # also reads more when the last item is on screen

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.relayout()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fonts()
            self.relayout()
        elif event.type() == QEvent.Type.PaletteChange:
            self.viewport().update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt override
        self.viewport().update()  # the pinned title moves with the content: paint all, no blit
        self.update_header()

    # -- the month title pinned at the top -------------------------------------------------
    def pinned_section(self) -> tuple[int, int]:
        lay = self.layout_
        if not lay.sectioned:
            return -1, 0
        return lay.pinned_month(self.verticalScrollBar().value())

    def header_text(self) -> str | None:
        """The month title pinned at the top (None without sections)."""
        section, _ = self.pinned_section()
        return month_title(int(self.layout_.month_key[section])) if section >= 0 else None

    def update_header(self) -> None:
        self._ensure_layout()
        section, offset = self.pinned_section()
        if section < 0:
            self.header.hide()
            return
        text = month_title(int(self.layout_.month_key[section]))
        if self.header.text() != text:
            self.header.setText(text)
        self.header.setGeometry(0, offset, self.viewport().width(), self.month_h)
        if not self.header.isVisible():
            self.header.show()

    def top_margin(self) -> int:
        """What the pinned title covers at the top of the viewport."""
        return self.month_h if self.layout_.sectioned else 0

    # -- geometry API ----------------------------------------------------------------------
    def horizontalOffset(self) -> int:  # noqa: N802 - Qt override
        return 0

    def verticalOffset(self) -> int:  # noqa: N802 - Qt override
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: QModelIndex) -> bool:  # noqa: N802 - Qt override
        return False

    def _rect(self, row: int) -> QRect:
        x, y = self.layout_.item_pos(row)
        m = self.layout_.m
        return QRect(x, y - self.verticalOffset(), m.cell_w - SPACING, m.cell_h - SPACING)

    def visualRect(self, index: QModelIndex) -> QRect:  # noqa: N802 - Qt override
        self._ensure_layout()
        if not index.isValid() or not 0 <= index.row() < self.layout_.n:
            return QRect()
        return self._rect(index.row())

    def indexAt(self, point: QPoint) -> QModelIndex:  # noqa: N802 - Qt override
        self._ensure_layout()
        model = self.model()
        if model is None or (self.header.isVisible() and self.header.geometry().contains(point)):
            return QModelIndex()
        row = self.layout_.item_at(point.x(), point.y() + self.verticalOffset())
        return model.index(row, 0, self.rootIndex()) if row >= 0 else QModelIndex()

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:  # noqa: N802
        self._ensure_layout()
        if not index.isValid() or not 0 <= index.row() < self.layout_.n:
            return
        lay, bar = self.layout_, self.verticalScrollBar()
        row = index.row()
        _, y = lay.item_pos(row)
        bottom = y + lay.m.cell_h
        top = y - self.top_margin()
        section = lay.section_of(row)
        if lay.sectioned and row == int(lay.section_first[section]):  # the first of a day: its headers too
            top = lay.top_of_section(section) - (0 if lay.month_start[section] else self.top_margin())
        height = self.viewport().height()
        Hint = QAbstractItemView.ScrollHint
        if hint == Hint.PositionAtTop:
            bar.setValue(top)
        elif hint == Hint.PositionAtBottom:
            bar.setValue(bottom - height)
        elif hint == Hint.PositionAtCenter:
            bar.setValue((top + bottom - height) // 2)
        elif y - self.top_margin() < bar.value():
            bar.setValue(top if top >= bottom - height else y - self.top_margin())
        elif bottom > bar.value() + height:
            bar.setValue(bottom - height)
        self.update_header()

    def moveCursor(self, action, modifiers) -> QModelIndex:  # noqa: N802 - Qt override
        self._ensure_layout()
        model, lay = self.model(), self.layout_
        if model is None or lay.n == 0:
            return QModelIndex()
        current = self.currentIndex()
        i = current.row() if current.isValid() and current.row() < lay.n else -1
        if i < 0:
            target = 0
        elif action in (_Action.MoveLeft, _Action.MovePrevious):
            target = max(0, i - 1)
        elif action in (_Action.MoveRight, _Action.MoveNext):
            target = min(lay.n - 1, i + 1)
        elif action == _Action.MoveUp:
            target = lay.step_row(i, -1)
        elif action == _Action.MoveDown:
            target = lay.step_row(i, 1)
        elif action == _Action.MoveHome:
            target = 0
        elif action == _Action.MoveEnd:
            target = lay.n - 1
        elif action in (_Action.MovePageUp, _Action.MovePageDown):
            sign = -1 if action == _Action.MovePageUp else 1
            _, y = lay.item_pos(i)
            page = max(lay.m.cell_h, self.viewport().height() - self.top_margin())
            row = lay.row_at_y(y + sign * page + lay.m.cell_h // 2)
            here = int(lay.item_row[i])
            if row == here:
                row = min(max(here + sign, 0), len(lay.row_y) - 1)
            target = lay.step_row(i, row - here)
        else:
            target = i
        return model.index(target, 0, self.rootIndex())

    # -- selection -------------------------------------------------------------------------
    def _selection(self, ranges) -> QItemSelection:
        model, root = self.model(), self.rootIndex()
        selection = QItemSelection()
        for first, last in ranges:
            selection.select(model.index(first, 0, root), model.index(last, 0, root))
        return selection

    def setSelection(self, rect: QRect, command) -> None:  # noqa: N802 - Qt override
        """A rubber band selects what it touches; a click or Shift+click/arrow selects the items
        in reading order from the anchor to the current one (Qt hands both as a rectangle)."""
        self._ensure_layout()
        model, lay = self.model(), self.layout_
        if model is None or self.selectionModel() is None or lay.n == 0:
            return
        off = self.verticalOffset()
        rect = rect.normalized()
        if self.state() == QAbstractItemView.State.DragSelectingState or self._band_origin is not None:
            ranges = lay.items_in(rect.left(), rect.top() + off, rect.right(), rect.bottom() + off)
            self.selectionModel().select(self._selection(ranges), command)
            return
        at = lambda p: lay.item_at(p.x(), p.y() + off)  # noqa: E731
        corners = [rect.topLeft(), rect.topRight(), rect.bottomLeft(), rect.bottomRight()]
        current = self.currentIndex().row() if self.currentIndex().isValid() else -1
        ends: list[int] = []
        for k, corner in enumerate(corners):
            if current >= 0 and at(corner) == current:
                ends = [current, at(corners[3 - k])]  # the opposite corner is the anchor's centre
                break
        if not ends:
            ends = [at(corners[0]), at(corners[3])]
        ends = [e for e in ends if e >= 0]
        if not ends:
            self.selectionModel().select(QItemSelection(), command)
            return
        self.selectionModel().select(self._selection([(min(ends), max(ends))]), command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:  # noqa: N802 - Qt override
        if selection.isEmpty():
            return QRegion()
        y0 = self.verticalOffset()
        visible = self.visible_rows()
        region = QRegion()
        for rng in selection:
            first, last = max(rng.top(), visible.start), min(rng.bottom(), visible.stop - 1)
            if first <= last:
                top, bottom = self.layout_.item_pos(first)[1], self.layout_.item_pos(last)[1]
                region += QRect(0, top - y0, self.viewport().width(), bottom - top + self.layout_.m.cell_h)
        return region

    def visible_rows(self) -> range:
        """Model rows on screen (tests, benchmarks)."""
        lay = self.layout_
        rows = lay.rows_in(self.verticalOffset(), self.verticalOffset() + self.viewport().height())
        if lay.n == 0 or len(rows) == 0:
            return range(0)
        return range(int(lay.row_first[rows.start]),
                     int(lay.row_first[rows.stop - 1] + lay.row_count[rows.stop - 1]))

    # -- mouse: hover and rubber band ------------------------------------------------------
    def _set_hover(self, row: int) -> None:
        if row != self._hover:
            for r in (self._hover, row):
                if 0 <= r < self.layout_.n:
                    self.viewport().update(self._rect(r))
            self._hover = row

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and not self.indexAt(pos).isValid():
            mods = event.modifiers()
            keep = mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
            if not keep:
                self.selectionModel().clearSelection()
            if self.focusPolicy() != Qt.FocusPolicy.NoFocus:
                self.setFocus(Qt.FocusReason.MouseFocusReason)
            self._band_origin = QPoint(pos.x(), pos.y() + self.verticalOffset())
            self._band = QRect()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        pos = event.position().toPoint()
        if self._band_origin is not None and event.buttons() & Qt.MouseButton.LeftButton:
            origin = QPoint(self._band_origin.x(), self._band_origin.y() - self.verticalOffset())
            old = self._band
            self._band = QRect(origin, pos).normalized()
            self.setState(QAbstractItemView.State.DragSelectingState)
            self.setSelection(self._band, _Flag.Select | _Flag.Current)
            self.viewport().update(old.united(self._band).adjusted(-2, -2, 2, 2))
            margin = self.autoScrollMargin()
            if self.hasAutoScroll() and not margin <= pos.y() < self.viewport().height() - margin:
                self.startAutoScroll()  # Qt scrolls and sends moves here while the mouse stays at the edge
            return
        self._set_hover(self.indexAt(pos).row() if self.indexAt(pos).isValid() else -1)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._band_origin is not None:
            self.stopAutoScroll()
            self._band_origin = None
            if not self._band.isNull():
                self.viewport().update(self._band.adjusted(-2, -2, 2, 2))
                # merge what the band touched into the selection
                self.selectionModel().select(self.selectionModel().selection(), _Flag.Select)
            self._band = QRect()
            self.setState(QAbstractItemView.State.NoState)
            return
        super().mouseReleaseEvent(event)

    def viewportEvent(self, event) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.Leave, QEvent.Type.HoverLeave):
            self._set_hover(-1)
        return super().viewportEvent(event)

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._ensure_layout()
        lay, model = self.layout_, self.model()
        if model is None or lay.n == 0:
            return
        painter = QPainter(self.viewport())
        off = self.verticalOffset()
        area = event.rect()
        y0, y1 = area.top() + off, area.bottom() + 1 + off
        if lay.sectioned:
            self._paint_headers(painter, lay.sections_in(y0, y1), off)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        selection, root = self.selectionModel(), self.rootIndex()
        current = self.currentIndex()
        focus = self.hasFocus() and current.isValid()
        active = self.isActiveWindow()
        delegate = self.itemDelegate()
        base_state = option.state
        for row in lay.rows_in(y0, y1):
            first, count = int(lay.row_first[row]), int(lay.row_count[row])
            for i in range(first, first + count):
                index = model.index(i, 0, root)
                option.rect = self._rect(i)
                state = base_state
                if selection is not None and selection.isSelected(index):
                    state |= QStyle.StateFlag.State_Selected
                if focus and i == current.row():
                    state |= QStyle.StateFlag.State_HasFocus
                if i == self._hover:
                    state |= QStyle.StateFlag.State_MouseOver
                if active:
                    state |= QStyle.StateFlag.State_Active
                option.state = state
                delegate.paint(painter, option, index)
        if not self._band.isNull():
            band = QStyleOptionRubberBand()
            band.initFrom(self.viewport())
            band.shape = QRubberBand.Shape.Rectangle
            band.opaque = False
            band.rect = self._band
            self.style().drawControl(QStyle.ControlElement.CE_RubberBand, band, painter, self)
        painter.end()

    def _paint_headers(self, painter: QPainter, sections: range, off: int) -> None:
        lay = self.layout_
        width = self.viewport().width()
        text = self.palette().color(QPalette.ColorRole.Text)
        dim = QPalette().color(QPalette.ColorGroup.Normal, QPalette.ColorRole.PlaceholderText)
        this_year = date.today().year
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for s in sections:
            y = int(lay.section_y[s]) - off
            if lay.month_start[s]:
                painter.setFont(self.month_font)
                painter.setPen(text)
                painter.drawText(QRect(TEXT_X, y, width - 2 * TEXT_X, self.month_h), align,
                                 month_title(int(lay.month_key[s])))
            if lay.day_key[s] != NO_DATE:
                painter.setFont(self.day_font)
                painter.setPen(dim if dim.isValid() else text)
                painter.drawText(QRect(TEXT_X, y + int(lay.day_y_off[s]), width - 2 * TEXT_X, self.day_h), align,
                                 day_title(int(lay.day_key[s]), this_year))
