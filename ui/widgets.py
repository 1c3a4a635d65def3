"""Small reusable widgets: an eliding label, an inline message bar, a scope chip."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from ui.icons import mix, themed


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with '…' instead of growing the layout."""

    def __init__(self, text: str = "", mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, parent=None) -> None:
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(20)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text if text else "")
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.width() - 2)
        super().setText(QFontMetrics(self.font()).elidedText(self._full, self._mode, width) if width else self._full)

    def minimumSizeHint(self) -> QSize:
        return QSize(20, super().minimumSizeHint().height())


class MessageBar(QFrame):
    """An inline notice at the top of the window, with optional action buttons.

    Used instead of modal message boxes for things the user can act on later ("this folder is
    not in your library yet — Add and index"), so the window keeps working.
    """

    closed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        self.icon = QLabel()
        self.icon.setFixedSize(20, 20)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)
        layout.addLayout(self._buttons)
        self.close_button = QToolButton()
        self.close_button.setAutoRaise(True)
        self.close_button.setIcon(themed("window-close"))
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.level = "info"
        self.hide()

    def show_message(self, text: str, level: str = "info",
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        self.level = level
        self.text.setText(text)
        icon = {"error": "dialog-error", "warning": "dialog-warning"}.get(level, "dialog-information")
        self.icon.setPixmap(themed(icon).pixmap(20, 20))
        while self._buttons.count():
            item = self._buttons.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for label, callback in actions or []:
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, cb=callback: (self.dismiss(), cb()))
            self._buttons.addWidget(button)
        self._apply_palette()
        self.show()

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    def action_labels(self) -> list[str]:
        return [self._buttons.itemAt(i).widget().text() for i in range(self._buttons.count())
                if self._buttons.itemAt(i).widget() is not None]

    def trigger(self, label: str) -> None:
        """Press the action button called ``label`` (keyboard users, tests)."""
        for i in range(self._buttons.count()):
            widget = self._buttons.itemAt(i).widget()
            if isinstance(widget, QPushButton) and widget.text() == label:
                widget.click()
                return
        raise KeyError(label)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and self.isVisible():
            self._apply_palette()

    def _apply_palette(self) -> None:
        app_palette = self.parentWidget().palette() if self.parentWidget() else self.palette()
        base = app_palette.color(QPalette.ColorRole.Window)
        tint = {"error": QColor(220, 50, 47), "warning": QColor(230, 160, 20)}.get(
            self.level, app_palette.color(QPalette.ColorRole.Highlight))
        palette = QPalette(app_palette)
        palette.setColor(QPalette.ColorRole.Window, mix(base, tint, 0.16))
        self.setPalette(palette)


class ScopeChip(QFrame):
    """Shows the folder the search is limited to, with a button to clear it."""

    clear_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ScopeChip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.setSpacing(2)
        self.icon = QLabel()
        self.icon.setPixmap(themed("folder").pixmap(16, 16))
        self.label = ElidedLabel(mode=Qt.TextElideMode.ElideLeft)
        self.label.setMaximumWidth(260)
        self.clear_button = QToolButton()
        self.clear_button.setAutoRaise(True)
        self.clear_button.setIcon(themed("edit-clear"))
        self.clear_button.setToolTip("Search the whole library")
        self.clear_button.clicked.connect(self.clear_requested)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.clear_button)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.folder: str | None = None
        self.hide()

    def set_folder(self, folder: str | None, label: str | None = None) -> None:
        self.folder = folder
        if folder:
            self.label.set_full_text(label or folder)
            self.label.setToolTip(f"Searching only in {folder}")
            self.label.setMinimumWidth(min(260, QFontMetrics(self.label.font()).horizontalAdvance(label or folder) + 4))
            self.show()
        else:
            self.hide()


class WeakerBar(QWidget):
    """Under the results: "12 weaker matches — Show" (and "Hide" once shown)."""
    toggled = Signal(bool)  # show the weaker matches

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        self.label = QLabel()
        self.button = QPushButton()
        self.button.clicked.connect(lambda: self.toggled.emit(not self.shown))
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        layout.addStretch(1)
        self.count = 0
        self.shown = False
        self.hide()

    def set_count(self, count: int, shown: bool, what: str = "weaker", strong: int | None = None) -> None:
        self.count, self.shown = count, shown
        if count <= 0:
            self.hide()
            return
        noun = "match" if count == 1 else "matches"
        if what == "weaker":
            lead = "No match stands out · " if strong == 0 and not shown else ""
            self.label.setText(f"{lead}{count:,} weaker {noun} {'shown' if shown else 'hidden'}")
            self.button.setText("Hide" if shown else "Show")
        else:
            self.label.setText(f"{count:,} new {noun if what == 'matches' else 'items' if count > 1 else 'item'}")
            self.button.setText("Show")
        self.show()
