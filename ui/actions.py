"""Acting on results: the context menu and what it does to one file or a selection.

Open, Open at this moment, Show in folder, Copy path(s), Copy image, Find similar, Copy to…,
Move to…, Move to Trash (with Undo while the app runs: a button in the message bar and Ctrl+Z).
File operations are ``app.file_actions.FileActions`` on the interactive pool: the library knows a
moved or copied file at its new place at once (no re-embedding), a trashed one leaves it at once.
Every failure is said in the window, one line, never silently dropped.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from app.file_actions import ActionReport, FileActions, TrashBatch
from app.library import Library, SearchResult
from ui import desktop
from ui.format import format_timestamp

log = logging.getLogger(__name__)

Message = Callable[[str, str, list], None]  # text, level, [(button label, callback)]


def _names(paths: Sequence[str]) -> str:
    if len(paths) == 1:
        return os.path.basename(paths[0])
    return f"{len(paths):,} files"


class ResultActions(QObject):
    similar_requested = Signal(str)
    removed = Signal(list)  # paths that left the library (trashed, moved away): drop them from the grid
    changed = Signal()  # the library changed (undo, move, copy): read what is shown again

    def __init__(self, library: Library, runner, say: Message, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.say = say
        self.files = FileActions(library)
        self.undo_stack: list[TrashBatch] = []
        self.busy = False

    # -- the menu ----------------------------------------------------------------------
    def menu_for(self, results: Sequence[SearchResult], parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        paths = [r.path for r in results]
        one = results[0] if len(results) == 1 else None
        menu.addAction("Open" if one else f"Open {len(results):,} Files", lambda: self.open(results))
        if one is not None and one.kind == "video" and one.timestamp:
            menu.addAction(f"Open at {format_timestamp(one.timestamp)}", lambda: self.open(results, at_moment=True))
        menu.addAction("Show in Folder", lambda: self.reveal(paths[0]))
        menu.addSeparator()
        menu.addAction("Copy Path" if one else f"Copy {len(paths):,} Paths", lambda: self.copy_paths(paths))
        image = menu.addAction("Copy Image", lambda: self.copy_image(paths[0]))
        image.setEnabled(one is not None and one.kind == "photo")
        similar = menu.addAction("Find Similar", lambda: self.similar_requested.emit(paths[0]))
        similar.setEnabled(one is not None)
        menu.addSeparator()
        menu.addAction("Copy to…", lambda: self.copy_to(paths, parent))
        menu.addAction("Move to…", lambda: self.move_to(paths, parent))
        menu.addSeparator()
        trash = menu.addAction("Move to Trash", lambda: self.trash(paths))
        trash.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        return menu

    # -- opening -----------------------------------------------------------------------
    def open(self, results: Sequence[SearchResult], at_moment: bool = False) -> None:
        for result in results[:20]:  # a click must never start hundreds of viewers
            timestamp = result.timestamp if (at_moment or len(results) == 1) and result.kind == "video" else None
            if not os.path.exists(result.path):
                self.say(f"The file is no longer there: {result.path}", "warning", [])
            elif not desktop.open_file(result.path, timestamp):
                self.say(f"No application is set up to open {os.path.basename(result.path)}.", "warning", [])

    def reveal(self, path: str) -> None:
        if not os.path.exists(path):
            self.say(f"The file is no longer there: {path}", "warning", [])
        elif not desktop.reveal_in_file_manager(path):
            self.say(f"No file manager could show {os.path.dirname(path)}.", "warning", [])

    def copy_paths(self, paths: Sequence[str]) -> None:
        desktop.copy_paths(list(paths))

    def copy_image(self, path: str) -> None:
        image = QImage(path)
        if image.isNull():
            self.say(f"Cannot read the picture {os.path.basename(path)}.", "warning", [])
            return
        QGuiApplication.clipboard().setImage(image)

    # -- file operations ---------------------------------------------------------------
    def copy_to(self, paths: Sequence[str], parent: QWidget) -> None:
        folder = QFileDialog.getExistingDirectory(parent, f"Copy {_names(paths)} to", os.path.dirname(paths[0]))
        if folder:
            self._run(lambda: self.files.copy(paths, folder), lambda r: self._transferred(r, "Copied", folder))

    def move_to(self, paths: Sequence[str], parent: QWidget) -> None:
        folder = QFileDialog.getExistingDirectory(parent, f"Move {_names(paths)} to", os.path.dirname(paths[0]))
        if folder:
            self._run(lambda: self.files.move(paths, folder), lambda r: self._transferred(r, "Moved", folder))

    def trash(self, paths: Sequence[str]) -> None:
        paths = list(paths)
        if paths:
            self._run(lambda: self.files.trash(paths), self._trashed)

    def undo(self) -> bool:
        """Put the last trashed files back (Ctrl+Z). False when there is nothing to undo."""
        if not self.undo_stack:
            return False
        batch = self.undo_stack.pop()
        self._run(lambda: self.files.undo(batch), self._restored)
        return True

    def _run(self, job: Callable[[], ActionReport], done: Callable[[ActionReport], None]) -> None:
        self.busy = True

        def finished(report, error: BaseException | None) -> None:
            self.busy = False
            if error is not None:
                self.say(f"The action failed: {error}", "error", [])
                self.changed.emit()
                return
            done(report)

        self.runner.submit(job, finished, pool="interactive")

    def _failures(self, report: ActionReport) -> str:
        if not report.failed:
            return ""
        first = report.failed[0][1]
        more = f" (and {len(report.failed) - 1:,} more)" if len(report.failed) > 1 else ""
        return f"{first}{more}"

    def _trashed(self, batch: TrashBatch) -> None:
        gone = [source for source, _ in batch.done]
        if gone:
            self.undo_stack.append(batch)
            self.removed.emit(gone)
        problem = self._failures(batch)
        if gone:
            text = f"Moved {_names(gone)} to the trash."
            if problem:
                text += f" Not moved: {problem}"
            self.say(text, "warning" if problem else "info", [("Undo", self.undo)])
        elif problem:
            self.say(problem, "error", [])

    def _restored(self, report: ActionReport) -> None:
        back = [source for source, _ in report.done]
        problem = self._failures(report)
        if problem:
            self.say(f"Could not restore: {problem}", "error", [])
        elif back:
            self.say(f"Restored {_names(back)} from the trash.", "info", [])
        self.changed.emit()

    def _transferred(self, report: ActionReport, verb: str, folder: str) -> None:
        done = [source for source, _ in report.done]
        problem = self._failures(report)
        if done and problem:
            self.say(f"{verb} {_names(done)} to {folder}. Not done: {problem}", "warning", [])
        elif done:
            self.say(f"{verb} {_names(done)} to {folder}.", "info", [])
        elif problem:
            self.say(problem, "error", [])
        self.changed.emit()
