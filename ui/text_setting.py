"""The window's "Read Text in Photos" setting (``Library.read_text``, shared with ``mediaseek index
--no-text``): a checkable action in the Library menu."""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.library import Library

log = logging.getLogger(__name__)


def read_text_action(parent: QWidget, library: Library, start_indexing: Callable[[], None]) -> QAction:
    """Turning it on reads the photos not read yet right away (an indexing run; the pictures that are
    already indexed are not read again); turning it off applies from the next run."""
    action = QAction("Read &Text in Photos", parent)
    action.setCheckable(True)
    action.setToolTip("Read the words in photos (signs, receipts, documents) so a search finds them")
    try:
        action.setChecked(library.read_text)
    except (OSError, ValueError):
        log.warning("cannot read the read_text setting", exc_info=True)
        action.setChecked(True)

    def toggled(enabled: bool) -> None:
        try:
            library.read_text = enabled
        except OSError as exc:
            log.warning("cannot save the read_text setting: %s", exc)
            action.blockSignals(True)
            action.setChecked(not enabled)
            action.blockSignals(False)
            return
        if enabled and library.models.active_name is not None:
            start_indexing()

    action.toggled.connect(toggled)
    return action
