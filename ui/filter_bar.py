"""The row of filters under the search field: type, date range, sort order, scores, cut-off."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from ui.settings import SORTS

_NO_DATE = QDate(1900, 1, 1)
CUTOFF_MAX = 50  # hundredths: the slider goes up to a score of 0.50


class FilterBar(QWidget):
    filters_changed = Signal(object, object, object)  # kind, after, before
    sort_changed = Signal(str)
    scores_toggled = Signal(bool)
    cutoff_changed = Signal(float)  # the strength (0..1) the user moved the cut-off to
    recursive_changed = Signal(bool)  # a folder is shown with its subfolders
    jump_requested = Signal(int)  # the first row of a month

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)

        self.kind = QComboBox()
        self.kind.addItem("All media", None)
        self.kind.addItem("Photos", "photo")
        self.kind.addItem("Videos", "video")
        self.kind.setToolTip("Show photos, videos or both")
        self.kind.currentIndexChanged.connect(self._emit_filters)
        layout.addWidget(self.kind)

        self.after = self._date_edit("Only media taken on or after this day")
        self.before = self._date_edit("Only media taken on or before this day")
        self.dates = QToolButton()
        self.dates.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.dates.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.dates.setToolTip("Only media taken in this date range")
        menu = QMenu(self.dates)
        panel = QWidget()
        form = QFormLayout(panel)
        form.setContentsMargins(10, 8, 10, 8)
        form.addRow("From", self.after)
        form.addRow("To", self.before)
        clear = QPushButton("Any Date")
        clear.clicked.connect(lambda: (self.set_dates(None, None), menu.close()))
        form.addRow(clear)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(panel)
        menu.addAction(holder)
        self.dates.setMenu(menu)
        layout.addWidget(self.dates)

        self.subfolders = QCheckBox("Subfolders")
        self.subfolders.setChecked(True)
        self.subfolders.setToolTip("Show the folder's subfolders too")
        self.subfolders.toggled.connect(self.recursive_changed)
        self.subfolders.hide()  # only while a folder is shown
        layout.addWidget(self.subfolders)

        self.jump = QToolButton()
        self.jump.setText("Jump to")
        self.jump.setToolTip("Go to a month")
        self.jump.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.jump.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.jump.setMenu(QMenu(self.jump))
        self.jump.hide()
        layout.addWidget(self.jump)
        layout.addStretch(1)

        self.sort = QComboBox()
        self.sort.setToolTip("Order of the results")
        for key, label in zip(SORTS, ("Best match", "Newest first", "Oldest first")):
            self.sort.addItem(label, key)
        self.sort.currentIndexChanged.connect(lambda _i: self.sort_changed.emit(self.sort.currentData()))
        layout.addWidget(self.sort)
        layout.addSpacing(8)

        self.scores = QCheckBox("Scores")
        self.scores.setToolTip("Show how well each result matches")
        self.scores.toggled.connect(self.scores_toggled)
        layout.addWidget(self.scores)
        layout.addSpacing(8)

        cut_label = QLabel("Match")
        cut_label.setToolTip("Show matches at least this strong (100 % is the best match; the default is "
                             "what stands out for the query)")
        layout.addWidget(cut_label)
        self.cutoff = QSlider(Qt.Orientation.Horizontal)
        self.cutoff.setRange(0, 100)
        self.cutoff.setMinimumWidth(70)
        self.cutoff.setMaximumWidth(120)
        self.cutoff.setToolTip(cut_label.toolTip())
        self.cutoff_value = QLabel()
        self.cutoff_value.setMinimumWidth(self.cutoff_value.fontMetrics().horizontalAdvance("≥ 100 %") + 4)
        layout.addWidget(self.cutoff)
        layout.addWidget(self.cutoff_value)
        self._cutoff_timer = QTimer(self)
        self._cutoff_timer.setSingleShot(True)
        self._cutoff_timer.setInterval(150)
        self._cutoff_timer.timeout.connect(lambda: self.cutoff_changed.emit(self.strength()))
        self.cutoff.valueChanged.connect(self._cutoff_moved)
        self._cutoff_moved(0)
        self.dates.setText("Any date")

    def _date_edit(self, tip: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setMinimumDate(_NO_DATE)
        edit.setSpecialValueText("Any")
        edit.setDate(_NO_DATE)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tip)
        edit.dateChanged.connect(self._emit_filters)
        return edit

    # -- values ----------------------------------------------------------------------------
    def kind_value(self) -> str | None:
        return self.kind.currentData()

    @staticmethod
    def _date_value(edit: QDateEdit) -> date | None:
        value = edit.date()
        return None if value == _NO_DATE else date(value.year(), value.month(), value.day())

    def after_value(self) -> date | None:
        return self._date_value(self.after)

    def before_value(self) -> date | None:
        return self._date_value(self.before)

    def strength(self) -> float:
        """The cut-off the slider shows, 0..1."""
        return self.cutoff.value() / 100

    def set_kind(self, kind: str | None) -> None:
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))

    def set_dates(self, after: date | None, before: date | None) -> None:
        self.after.setDate(QDate(after.year, after.month, after.day) if after else _NO_DATE)
        self.before.setDate(QDate(before.year, before.month, before.day) if before else _NO_DATE)

    def set_sort(self, sort: str) -> None:
        self.sort.setCurrentIndex(max(0, self.sort.findData(sort)))

    def set_cutoff(self, percent: int) -> None:
        """Move the slider as the user would (emits ``cutoff_changed``)."""
        self.cutoff.setValue(percent)

    def show_cutoff(self, strength: float) -> None:
        """Show the cut-off in force (a new search's rule) without emitting anything."""
        self.cutoff.blockSignals(True)
        self.cutoff.setValue(round(strength * 100))
        self.cutoff.blockSignals(False)
        self.cutoff_value.setText(f"≥ {self.cutoff.value()} %")

    def set_months(self, months) -> None:
        """The month list of what is browsed (``app.browse.MonthBucket``): by year when long."""
        menu = self.jump.menu()
        menu.clear()
        self.jump.setVisible(bool(months))
        years: dict[int, list] = {}
        for bucket in months:
            years.setdefault(bucket.year, []).append(bucket)
        nested = len(months) > 15
        for year, buckets in years.items():
            target = menu.addMenu(f"{year}  ({sum(b.count for b in buckets):,})") if nested else menu
            for bucket in buckets:
                action = target.addAction(f"{bucket.label}  ({bucket.count:,})")
                action.triggered.connect(lambda _c=False, row=bucket.offset: self.jump_requested.emit(row))

    def _emit_filters(self, *_args) -> None:
        after, before = self.after_value(), self.before_value()
        if after and before:
            label = f"{after:%Y-%m-%d} – {before:%Y-%m-%d}"
        elif after:
            label = f"Since {after:%Y-%m-%d}"
        elif before:
            label = f"Until {before:%Y-%m-%d}"
        else:
            label = "Any date"
        self.dates.setText(label)
        self.filters_changed.emit(self.kind_value(), self.after_value(), self.before_value())

    def _cutoff_moved(self, value: int) -> None:
        self.cutoff_value.setText(f"≥ {value} %")
        self._cutoff_timer.start()
