"""The Duplicates window (Library ▸ Find Duplicates…, or the sidebar's button): the library's (or the
current folder's) duplicate groups, largest space to free first; a group's files side by side
(``ui.duplicates_compare``); keep/trash per file; "Trash All Suggested" after one confirmation; Undo.

Grouping (``app.duplicates.find_duplicates``) and trashing (``app.file_actions.FileActions``) run
on the window's task runner, never on the GUI thread. After a trash or an undo the groups are found
again, and the main window hears ``removed(paths)`` / ``changed()`` to drop or re-read its results.
Similar shots are shown but never offered for trashing.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.duplicates import DuplicateGroup, DuplicateReport, find_duplicates
from app.file_actions import ActionReport, FileActions, TrashBatch
from ui.duplicates_compare import GroupComparison
from ui.format import format_count, format_size

log = logging.getLogger(__name__)

KIND_LABELS = {"exact": "Exact copies", "same": "Same picture", "similar": "Similar shots"}
_PHASES = {"hash": "Comparing file contents", "compare": "Comparing pictures", "pixels": "Checking candidates"}


def group_label(group: DuplicateGroup) -> str:
    text = f"{KIND_LABELS.get(group.kind, group.kind)} · {format_count(len(group.files), 'file')}"
    if group.kind == "similar":
        return text + " · kept as they are"
    return text + f" · {format_size(group.reclaimable)} to free"


def _ask(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class DuplicatesWindow(QWidget):
    removed = Signal(list)  # paths that went to the trash (the main grid drops them)
    changed = Signal()  # files came back (the main window reads the library again)
    open_requested = Signal(str)  # a card was double-clicked: open the file
    groups_ready = Signal()  # a search finished (tests, status)
    _progress = Signal(str, int, int)  # from the worker thread, queued to the GUI thread

    def __init__(self, library, runner, loader, parent: QWidget | None = None,
                 confirm: Callable[[QWidget, str, str], bool] | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.library = library
        self.runner = runner
        self.files = FileActions(library)
        self.confirm = confirm or _ask
        self.folder: str | None = None
        self.groups: list[DuplicateGroup] = []
        self.report: DuplicateReport | None = None
        self.spared: set[str] = set()  # files the user unticked: never trashed
        self.undo_stack: list[TrashBatch] = []
        self.busy = False
        self.phase: str | None = None  # the last progress phase shown (tests)
        self._generation = 0
        self.setWindowTitle("Duplicates — mediaseek")
        self._build(loader)
        self._progress.connect(self._show_progress)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(min(1180, int(screen.width() * 0.9)) if screen else 1180,
                    min(760, int(screen.height() * 0.9)) if screen else 760)

    def _build(self, loader) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setWordWrap(True)
        top.addWidget(self.title, 1)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        top.addWidget(self.progress)
        self.rescan_button = QPushButton("Find Again")
        self.rescan_button.clicked.connect(self.refresh)
        top.addWidget(self.rescan_button)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Put the files last moved to the trash back (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        top.addWidget(self.undo_button)
        self.trash_all_button = QPushButton("Trash All Suggested…")
        self.trash_all_button.clicked.connect(self.trash_all)
        top.addWidget(self.trash_all_button)
        layout.addLayout(top)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setMinimumWidth(240)
        self.list.setSpacing(2)
        self.list.currentRowChanged.connect(self._group_selected)
        self.splitter.addWidget(self.list)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.compare = GroupComparison(loader)
        self.compare.keep_changed.connect(self._keep_changed)
        self.compare.spare_changed.connect(self._spare_changed)
        self.compare.open_requested.connect(self.open_requested)
        right_layout.addWidget(self.compare, 1)
        row = QHBoxLayout()
        self.group_note = QLabel()
        self.group_note.setWordWrap(True)
        row.addWidget(self.group_note, 1)
        self.trash_group_button = QPushButton("Trash Marked Files")
        self.trash_group_button.clicked.connect(self.trash_group)
        row.addWidget(self.trash_group_button)
        right_layout.addLayout(row)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 880])
        layout.addWidget(self.splitter, 1)
        self.status = QLabel()  # one line: what happened, or what failed
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.undo_action.triggered.connect(self.undo)
        self.addAction(self.undo_action)
        self._update_buttons()

    # -- finding ---------------------------------------------------------------------------
    def open_for(self, folder: str | None) -> None:
        """Show the window for ``folder`` (None: the whole library) and find its groups."""
        self.folder = folder
        self.show()
        self.raise_()
        self.activateWindow()
        self.refresh()

    def refresh(self) -> None:
        self._generation += 1
        generation = self._generation
        library, folder = self.library, self.folder
        where = f"in {os.path.basename(folder.rstrip(os.sep)) or folder}" if folder else "in the whole library"
        self.title.setText(f"<b>Looking for duplicates {where}…</b>")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.busy = True
        self._update_buttons()

        def job() -> DuplicateReport:
            return find_duplicates(library, folder, on_progress=lambda phase, done, total: self._progress.emit(
                phase, done, total))

        self.runner.submit(job, lambda report, error: self._found(generation, report, error), pool="bulk",
                           coalesce="duplicates")

    def _show_progress(self, phase: str, done: int, total: int) -> None:
        if not self.busy:
            return
        self.phase = phase
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(min(done, total) if total else 0)
        self.progress.setToolTip(f"{_PHASES.get(phase, phase)}: {done:,} of {total:,}" if total
                                 else _PHASES.get(phase, phase))

    def _found(self, generation: int, report: DuplicateReport | None, error: BaseException | None) -> None:
        if generation != self._generation:
            return
        self.busy = False
        self.progress.hide()
        where = os.path.basename(self.folder.rstrip(os.sep)) if self.folder else "the library"
        if error is not None or report is None:
            self.title.setText(f"<b>Duplicates in {_html(where)}</b>")
            self.status.setText(f"Cannot look for duplicates: {error}")
            self._set_groups([])
            return
        self.report = report
        self._set_groups(report.groups)
        trashable = [g for g in report.groups if g.kind != "similar"]
        if report.groups:
            free = self.reclaimable()
            self.title.setText(f"<b>{format_count(len(report.groups), 'group')} of duplicates in {_html(where)}</b>"
                               + (f" · {format_size(free)} can be freed" if free else " · nothing to trash"))
        else:
            self.title.setText(f"<b>No duplicates in {_html(where)}</b>")
        notes = []
        if report.missing:
            notes.append(report.missing)
        if report.unreadable:
            notes.append(f"{format_count(len(report.unreadable), 'file')} could not be read and were left out.")
        if notes and not self.status.text():
            self.status.setText(" ".join(notes))
        log.debug("duplicates: %d groups (%d trashable)", len(report.groups), len(trashable))
        self.groups_ready.emit()

    def _set_groups(self, groups: list[DuplicateGroup]) -> None:
        current = self.list.currentRow()
        self.groups = list(groups)
        self.list.blockSignals(True)
        self.list.clear()
        for group in self.groups:
            item = QListWidgetItem(group_label(group))
            item.setToolTip(f"Keep: {group.kept.path}\n{group.reason}" if group.kind != "similar"
                            else "Similar shots are never offered for trashing.")
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self.groups:
            self.list.setCurrentRow(min(max(current, 0), len(self.groups) - 1))
        self._group_selected(self.list.currentRow())

    # -- the selected group ------------------------------------------------------------------
    def current_group(self) -> DuplicateGroup | None:
        row = self.list.currentRow()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def _group_selected(self, _row: int) -> None:
        self.compare.show_group(self.current_group(), self.spared)
        self._describe_group()

    def _describe_group(self) -> None:
        group = self.current_group()
        if group is None:
            self.group_note.setText("")
        elif group.kind == "similar":
            self.group_note.setText("Similar shots (a burst, near-identical frames) are different photos: "
                                    "they are shown for a look, never offered for trashing.")
        else:
            marked = self._marked(group)
            self.group_note.setText(f"Keep {group.kept.path} ({group.reason}); "
                                    f"{format_count(len(marked), 'file')} marked for the trash, "
                                    f"{format_size(sum(f.size for f in group.files if f.path in marked))}.")
        self._update_buttons()

    def _keep_changed(self, path: str) -> None:
        row = self.list.currentRow()
        group = self.current_group()
        if group is None or group.kept.path == path:
            return
        self.spared.discard(path)
        self.groups[row] = group.with_keep(path)
        self.list.item(row).setText(group_label(self.groups[row]))
        self.compare.update_marks(self.groups[row], self.spared)
        self._describe_group()

    def _spare_changed(self, path: str, spared: bool) -> None:
        if spared:
            self.spared.add(path)
        else:
            self.spared.discard(path)
        self._describe_group()

    def _marked(self, group: DuplicateGroup) -> list[str]:
        """The group's files to trash: suggested, not spared, and not kept by any other group."""
        kept = {g.kept.path for g in self.groups if g.kind != "similar"}
        return [f.path for f in group.suggested if f.path not in self.spared and f.path not in kept]

    def marked_paths(self, groups: list[DuplicateGroup] | None = None) -> list[str]:
        out: dict[str, None] = {}
        for group in self.groups if groups is None else groups:
            for path in self._marked(group):
                out[path] = None
        return list(out)

    def reclaimable(self) -> int:
        sizes = {f.path: f.size for g in self.groups for f in g.files}
        return sum(sizes[p] for p in self.marked_paths())

    # -- trash and undo ----------------------------------------------------------------------
    def trash_all(self) -> None:
        paths = self.marked_paths()
        if not paths or self.busy:
            return
        sizes = {f.path: f.size for g in self.groups for f in g.files}
        space = format_size(sum(sizes[p] for p in paths))
        if not self.confirm(self, "Move Duplicates to Trash",
                            f"Move {format_count(len(paths), 'file')} ({space}) to the trash? Each group keeps "
                            "its marked file; similar shots are not touched. You can undo this while mediaseek "
                            "is open, or restore the files from the trash."):
            return
        self._trash(paths)

    def trash_group(self) -> None:
        group = self.current_group()
        if group is None or group.kind == "similar" or self.busy:
            return
        paths = self.marked_paths([group])
        if paths:
            self._trash(paths)

    def _trash(self, paths: list[str]) -> None:
        self.busy = True
        self._update_buttons()
        self.runner.submit(lambda: self.files.trash(paths), self._trashed, pool="interactive")

    def _trashed(self, batch: TrashBatch | None, error: BaseException | None) -> None:
        self.busy = False
        if error is not None or batch is None:
            self.status.setText(f"Could not move to the trash: {error}")
            self.refresh()
            return
        gone = [source for source, _ in batch.done]
        if gone:
            self.undo_stack.append(batch)
            self.removed.emit(gone)
        text = (f"Moved {format_count(len(gone), 'file')} ({format_size(batch.bytes_freed)}) to the trash."
                if gone else "")
        if batch.failed:
            more = f" (and {len(batch.failed) - 1:,} more)" if len(batch.failed) > 1 else ""
            first = batch.failed[0]
            text += f" Not moved: {os.path.basename(first[0])}: {first[1]}{more}"
        self.status.setText(text.strip())
        self.refresh()

    def undo(self) -> bool:
        """Put the last trashed batch back: files and library rows. False when nothing to undo."""
        if not self.undo_stack or self.busy:
            return False
        batch = self.undo_stack.pop()
        self.busy = True
        self._update_buttons()
        self.runner.submit(lambda: self.files.undo(batch), self._restored, pool="interactive")
        return True

    def _restored(self, report: ActionReport | None, error: BaseException | None) -> None:
        self.busy = False
        if error is not None or report is None:
            self.status.setText(f"Could not restore: {error}")
        else:
            back = len(report.done)
            text = f"Restored {format_count(back, 'file')} from the trash." if back else ""
            if report.failed:
                text += f" Not restored: {os.path.basename(report.failed[0][0])}: {report.failed[0][1]}"
            self.status.setText(text.strip())
        self.changed.emit()
        self.refresh()

    def _update_buttons(self) -> None:
        group = self.current_group()
        self.undo_button.setEnabled(bool(self.undo_stack) and not self.busy)
        self.trash_all_button.setEnabled(not self.busy and bool(self.marked_paths()))
        self.trash_group_button.setEnabled(not self.busy and group is not None and group.kind != "similar"
                                           and bool(self._marked(group)))
        self.trash_group_button.setVisible(group is None or group.kind != "similar")
        self.rescan_button.setEnabled(not self.busy)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def open_duplicates(window) -> DuplicatesWindow:
    """Show (creating once) the Duplicates window of ``window`` (a ``MainWindow``), for its folder."""
    view = getattr(window, "duplicates_window", None)
    if view is None:
        view = DuplicatesWindow(window.library, window.runner, window.loader, window)
        view.removed.connect(window._files_removed)
        view.changed.connect(window._files_changed)
        view.open_requested.connect(window.open_file)
        window.duplicates_window = view
    view.open_for(window.scope)
    return view
