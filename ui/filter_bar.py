"""The row of filters under the search field: type, date range, sort order, scores, cut-off."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QLocale, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCalendarWidget,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from ui.dates import DateError, describe, parse_range, presets
from ui.icons import themed
from ui.settings import SORTS
from ui.widgets import ScopeChip

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

        self._after: date | None = None
        self._before: date | None = None
        self.month_first = QLocale().dateFormat(QLocale.FormatType.ShortFormat).lower().startswith("m")
        self.after = self._date_field("From, e.g. 2023-01-31 or “March 2023”", first=True)
        self.before = self._date_field("To, e.g. 2023-12-31 or “2023”", first=False)
        self.calendar = QCalendarWidget()
        self.calendar.setGridVisible(False)
        self.calendar.clicked.connect(self._calendar_picked)
        self._calendar_for: QLineEdit | None = None
        self.dates = QToolButton()
        self.dates.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.dates.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.dates.setToolTip("Only media taken in this date range")
        menu = QMenu(self.dates)
        panel = QWidget()
        form = QFormLayout(panel)
        form.setContentsMargins(10, 8, 10, 8)
        form.addRow("From", self._with_calendar(self.after))
        form.addRow("To", self._with_calendar(self.before))
        self.date_error = QLabel()
        self.date_error.setWordWrap(True)
        self.date_error.hide()
        form.addRow(self.date_error)
        presets_row = QHBoxLayout()
        for label, first, last in presets():
            button = QPushButton(label)
            button.clicked.connect(lambda _c=False, a=first, b=last: (self.set_dates(a, b), menu.close()))
            presets_row.addWidget(button)
        clear = QPushButton("Any Date")
        clear.clicked.connect(lambda: (self.set_dates(None, None), menu.close()))
        presets_row.addWidget(clear)
        form.addRow(presets_row)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(panel)
        menu.addAction(holder)
        self.dates.setMenu(menu)
        layout.addWidget(self.dates)
        self.date_chip = ScopeChip()
        self.date_chip.icon.setPixmap(themed("x-office-calendar").pixmap(16, 16))
        self.date_chip.clear_button.setToolTip("Any date")
        self.date_chip.clear_requested.connect(lambda: self.set_dates(None, None))
        layout.addWidget(self.date_chip)
        self.kind_chip = ScopeChip()
        self.kind_chip.icon.hide()
        self.kind_chip.clear_button.setToolTip("Photos and videos")
        self.kind_chip.clear_requested.connect(lambda: self.set_kind(None))
        layout.addWidget(self.kind_chip)

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

        cut_label = self.cut_label = QLabel("Match")
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
        self.dates.setText("Dates")

    def _date_field(self, tip: str, first: bool) -> QLineEdit:
        field = QLineEdit()
        field.setPlaceholderText("any")
        field.setToolTip(tip)
        field.setMinimumWidth(150)
        field.setClearButtonEnabled(True)
        field.editingFinished.connect(lambda: self._typed(field, first))
        return field

    def _with_calendar(self, field: QLineEdit) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(field, 1)
        button = QToolButton()
        button.setIcon(themed("x-office-calendar"))
        button.setText("…")
        button.setToolTip("Pick the day on a calendar")
        button.clicked.connect(lambda: self._open_calendar(field, button))
        row.addWidget(button)
        return box

    def set_date_range(self, first: date | None, last: date | None) -> None:
        """The library's dates: the calendar opens there, not in 1900."""
        if first and last:
            self.calendar.setDateRange(QDate(first.year, first.month, first.day), QDate(last.year, last.month, last.day))

    def _open_calendar(self, field: QLineEdit, anchor: QWidget) -> None:
        self._calendar_for = field
        current = self._after if field is self.after else self._before
        target = QDate(current.year, current.month, current.day) if current else self.calendar.maximumDate()
        self.calendar.setSelectedDate(target)
        self.calendar.setCurrentPage(target.year(), target.month())
        popup = QMenu(anchor)
        holder = QWidgetAction(popup)
        holder.setDefaultWidget(self.calendar)
        popup.addAction(holder)
        self._calendar_popup = popup
        popup.popup(anchor.mapToGlobal(anchor.rect().bottomLeft()))

    def _calendar_picked(self, picked: QDate) -> None:
        day = date(picked.year(), picked.month(), picked.day())
        if self._calendar_for is self.after:
            self.set_dates(day, self._before)
        else:
            self.set_dates(self._after, day)
        popup = getattr(self, "_calendar_popup", None)
        if popup is not None:
            popup.close()

    def _typed(self, field: QLineEdit, first: bool) -> None:
        text = field.text().strip()
        if not text:
            day = None
        else:
            try:
                start, end = parse_range(text, self.month_first)
            except DateError as exc:
                self.date_error.setText(str(exc))
                self.date_error.show()
                field.setStyleSheet("QLineEdit { border: 1px solid #c0392b; }")
                return
            day = start if first else end
        self.date_error.hide()
        field.setStyleSheet("")
        if first:
            self.set_dates(day, self._before)
        else:
            self.set_dates(self._after, day)

    # -- values ----------------------------------------------------------------------------
    def kind_value(self) -> str | None:
        return self.kind.currentData()

    def after_value(self) -> date | None:
        return self._after

    def before_value(self) -> date | None:
        return self._before

    def strength(self) -> float:
        """The cut-off the slider shows, 0..1."""
        return self.cutoff.value() / 100

    def set_kind(self, kind: str | None) -> None:
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))

    def set_dates(self, after: date | None, before: date | None) -> None:
        if after and before and after > before:
            after, before = before, after
        self.after.setText(after.isoformat() if after else "")
        self.before.setText(before.isoformat() if before else "")
        if (after, before) != (self._after, self._before):
            self._after, self._before = after, before
            self._emit_filters()

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

    def set_searching(self, searching: bool, newest_first: bool = True) -> None:
        """Scores and the cut-off mean something only for a query; browsing hides them. Browsing has
        no "Best match": the order box shows the date order the grid is in."""
        for widget in (self.cut_label, self.cutoff, self.cutoff_value, self.scores):
            widget.setVisible(searching)
        best = self.sort.model().item(self.sort.findData("relevance"))
        if best is not None:
            best.setEnabled(searching)
        if not searching:
            self.sort.blockSignals(True)
            self.set_sort("newest" if newest_first else "oldest")
            self.sort.blockSignals(False)

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
        label = describe(after, before)
        self.dates.setText("Dates")
        self.date_chip.set_folder(label if (after or before) else None, label)
        self.date_chip.label.setToolTip(f"Only media taken: {label}")
        kind = self.kind_value()
        self.kind_chip.set_folder({"photo": "Photos", "video": "Videos"}.get(kind), None)
        if kind:
            self.kind_chip.label.setToolTip(f"Only {kind}s")
        self.filters_changed.emit(self.kind_value(), self.after_value(), self.before_value())

    def _cutoff_moved(self, value: int) -> None:
        self.cutoff_value.setText(f"≥ {value} %")
        self._cutoff_timer.start()
