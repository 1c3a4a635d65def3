"""Side-by-side comparison of one duplicate group: each file large, with the facts that tell the
copies apart (dimensions, file size, format, date, folder) under it; a fact that differs between
the files is highlighted, so the reason to keep one over another is visible at a glance.

Pictures come from the window's ``ThumbnailLoader`` (decoded on a worker thread, cached)."""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.duplicates import DuplicateFile, DuplicateGroup
from ui.format import format_date, format_size
from ui.thumbnail_loader import ThumbKey

log = logging.getLogger(__name__)

COMPARE_PX = 640  # the thumbnail size asked for; cards scale it down to fit
FACTS = ("dimensions", "size", "format", "date", "folder")
_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF", "heic": "HEIC", "heif": "HEIF"}


def file_facts(f: DuplicateFile) -> dict[str, str]:
    """What the comparison shows under each file, as text (also what is compared)."""
    ext = os.path.splitext(f.path)[1].lstrip(".").lower()
    return {
        "dimensions": f"{f.width} × {f.height}" if f.width and f.height else "unknown size",
        "size": format_size(f.size),
        "format": _FORMATS.get(ext, ext.upper() or "unknown"),
        "date": format_date(f.date, local=True) if f.date else "no date",
        "folder": os.path.dirname(f.path),
    }


def differing(files) -> set[str]:
    """The facts whose text is not the same for every file."""
    facts = [file_facts(f) for f in files]
    return {name for name in FACTS if len({fact[name] for fact in facts}) > 1}


class FileCard(QFrame):
    """One file of the group: its picture, its facts, keep (radio) and trash (check box).
    Double-click opens the file in its application, at full size."""

    open_requested = Signal(str)

    def __init__(self, f: DuplicateFile, facts: dict[str, str], differ: set[str], trashable: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file = f
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.image = QLabel("Loading…")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(160, 120)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image.setToolTip("Double-click to open at full size")
        layout.addWidget(self.image, 1)
        self._pixmap: QPixmap | None = None
        self.name = QLabel(f"<b>{_escape(os.path.basename(f.path))}</b>")
        self.name.setToolTip(f.path)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.name)
        self.fact_labels: dict[str, QLabel] = {}
        for name in FACTS:
            text = _escape(facts[name])
            if name in differ:  # what differs is what matters: bold, in the highlight colour
                text = f"<b><span style='color: palette(highlight)'>{text}</span></b>"
            label = QLabel(text)
            label.setToolTip(f"{name.capitalize()}: {facts[name]}" + (" (differs)" if name in differ else ""))
            label.setProperty("differs", name in differ)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(name == "folder")
            self.fact_labels[name] = label
            layout.addWidget(label)
        self.keep_button = QRadioButton("Keep this one")
        self.keep_note = QLabel()
        self.keep_note.setMinimumHeight(self.keep_note.fontMetrics().height())  # cards line up, kept or not
        self.trash_box = QCheckBox("Move to trash")
        layout.addWidget(self.keep_button)
        layout.addWidget(self.keep_note)
        layout.addWidget(self.trash_box)
        if not trashable:
            self.keep_button.hide()
            self.trash_box.hide()

    def set_pixmap(self, pixmap: QPixmap | None, failure: str | None = None) -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.image.setText(failure or "Loading…")
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.open_requested.emit(self.file.path)

    def _fit(self) -> None:
        if self._pixmap is None:
            return
        size = self.image.size()
        ratio = self._pixmap.devicePixelRatio() or 1.0
        scaled = self._pixmap.scaled(size * ratio, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
        scaled.setDevicePixelRatio(ratio)
        self.image.setPixmap(scaled)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class GroupComparison(QScrollArea):
    """The files of one group side by side. Emits ``keep_changed(path)`` and ``spare_changed``."""

    keep_changed = Signal(str)
    open_requested = Signal(str)
    spare_changed = Signal(str, bool)  # path, spared (not to be trashed)

    def __init__(self, loader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.group: DuplicateGroup | None = None
        self.cards: list[FileCard] = []
        self._keys: dict[ThumbKey, FileCard] = {}
        self._buttons = QButtonGroup(self)
        loader.ready.connect(self._thumb_ready)
        loader.failed.connect(self._thumb_failed)
        self.show_group(None)

    def show_group(self, group: DuplicateGroup | None, spared: set[str] = frozenset()) -> None:
        self.group = group
        self.cards = []
        self._keys = {}
        for button in self._buttons.buttons():
            self._buttons.removeButton(button)
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(8, 8, 8, 8)
        row.setSpacing(10)
        if group is None:
            empty = QLabel("Select a group to compare its files.")
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row.addWidget(empty)
            self.setWidget(body)
            return
        trashable = group.kind != "similar"
        differ = differing(group.files)
        for f in group.files:
            card = FileCard(f, file_facts(f), differ, trashable)
            card.open_requested.connect(self.open_requested)
            if trashable:
                self._buttons.addButton(card.keep_button)
                card.keep_button.toggled.connect(lambda on, p=f.path: on and self.keep_changed.emit(p))
                card.trash_box.toggled.connect(lambda on, p=f.path: self.spare_changed.emit(p, not on))
            row.addWidget(card, 1)
            self.cards.append(card)
            key = ThumbKey(f.path, f.kind, None, f.media_id, COMPARE_PX)
            self._keys[key] = card
            card.set_pixmap(self.loader.pixmap(key), self.loader.failure(key))
        self.setWidget(body)
        self.update_marks(group, spared)

    def update_marks(self, group: DuplicateGroup, spared: set[str] = frozenset()) -> None:
        """Show which file is kept and which are marked for the trash, in place (never rebuilt while
        one of the cards' own buttons is still delivering its click)."""
        self.group = group
        if group.kind == "similar":
            return
        for i, card in enumerate(self.cards):
            kept = i == group.keep
            for box, checked in ((card.keep_button, kept), (card.trash_box, not kept and card.file.path not in spared)):
                box.blockSignals(True)
                box.setChecked(checked)
                box.blockSignals(False)
            note = "Kept: your choice" if group.reason == "chosen" else f"Suggested keep: {group.reason}"
            card.keep_note.setText(note if kept else "")
            card.trash_box.setEnabled(not kept)

    def _thumb_ready(self, key: ThumbKey) -> None:
        card = self._keys.get(key)
        if card is not None:
            card.set_pixmap(self.loader.pixmap(key))

    def _thumb_failed(self, key: ThumbKey, reason: str) -> None:
        card = self._keys.get(key)
        if card is not None:
            card.set_pixmap(None, f"No picture: {reason}")
