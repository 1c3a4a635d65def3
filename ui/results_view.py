"""The thumbnail grid of results: a ``SectionedGrid`` drawn by ``ResultDelegate``.

In date order (browsing, or a search sorted by date) each day starts a new row under its header
and each month under its title, the month at the top pinned there; sorted by relevance it is a
plain grid. Only the rows on screen are painted, so only their thumbnails are requested.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QFrame

from ui.grid_view import SectionedGrid
from ui.result_delegate import PAD, RADIUS, SPACING, ResultDelegate, paint_badge, paint_cover  # noqa: F401
from ui.results_model import ResultsModel, thumb_bucket


class ResultsView(SectionedGrid):
    open_requested = Signal(QModelIndex)  # Enter: in the file's application
    view_requested = Signal(QModelIndex)  # Space, double-click: in the full-window viewer

    def __init__(self, parent=None) -> None:
        self.delegate = ResultDelegate()
        super().__init__(parent)
        self.delegate.setParent(self)
        self.setItemDelegate(self.delegate)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.doubleClicked.connect(self.view_requested)

    # -- what the grid needs to know --------------------------------------------------------
    def is_sectioned(self) -> bool:
        model = self.model()
        return isinstance(model, ResultsModel) and model.sectioned

    def item_dates(self, first: int, last: int) -> list:
        model = self.model()
        if not isinstance(model, ResultsModel):
            return super().item_dates(first, last)
        return [r.date for r in model.results[first:last + 1]]

    def cell_size(self) -> QSize:
        return self.delegate.cell_size(self.font())

    # -- sizing ----------------------------------------------------------------------------
    def set_thumb_size(self, size: int) -> None:
        self.delegate.thumb_size = size
        self._update_thumb_px()
        self.relayout()

    def set_show_scores(self, show: bool) -> None:
        self.delegate.show_scores = show
        self.viewport().update()

    def thumb_pixels(self) -> int:
        """Pixels a thumbnail needs on this screen: enough to crop a 4:3 picture to the square."""
        return thumb_bucket(self.delegate.thumb_size * self.devicePixelRatioF() * 4 / 3)

    def _update_thumb_px(self) -> None:
        model = self.model()
        if isinstance(model, ResultsModel):
            px = self.thumb_pixels()
            if model.thumb_px != px:
                model.thumb_px = px
                model.loader.device_pixel_ratio = self.devicePixelRatioF()
                self.viewport().update()

    def setModel(self, model) -> None:  # noqa: N802 - Qt override
        super().setModel(model)
        if isinstance(model, ResultsModel):
            model.thumbnails_arrived.connect(self.viewport().update)
        self._update_thumb_px()

    def relayout(self, keep_top: bool = True) -> None:
        if hasattr(self, "delegate"):
            super().relayout(keep_top)

    # -- keyboard --------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        if event.key() == Qt.Key.Key_Space and not event.modifiers() and self.currentIndex().isValid():
            self.view_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)
