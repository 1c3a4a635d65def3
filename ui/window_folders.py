"""The window's library side: folders handed over, added and removed, indexing, models and the
indexing-problems dialog."""
from __future__ import annotations

import logging
import os

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.errors import MediaseekError
from ui import desktop
from ui.failures import FailuresDialog
from ui.first_run import ModelSetupDialog
from ui.window_state import inside

log = logging.getLogger(__name__)


class FoldersMixin:
    """Part of ``MainWindow`` (mixed in); uses the widgets and controllers it builds."""

    # ====================================================================================
    # folders, scope hand-off, indexing
    # ====================================================================================
    def bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def open_folder(self, folder: str | None) -> None:
        """A launch asked for ``folder`` (``mediaseek gui --folder``, or a file manager's menu)."""
        self.bring_to_front()
        if not folder:
            return
        path = os.path.abspath(os.path.expanduser(folder))
        if not os.path.exists(path):
            self.message_bar.show_message(f"Folder not found: {path}", "error")
            self._write_status()
            return
        if not os.path.isdir(path):
            self.message_bar.show_message(f"Not a folder: {path}", "error")
            self._write_status()
            return
        if not os.access(path, os.R_OK | os.X_OK):
            self.message_bar.show_message(f"This folder cannot be read (permission denied): {path}", "error")
            self._write_status()
            return
        self.message_bar.dismiss()
        self.set_scope(path)
        if self.snapshot is None:
            self._pending_folder_check = path
        else:
            self._offer_to_add(path)
        self.focus_search()

    def _offer_to_add(self, folder: str) -> None:
        roots = self.snapshot.roots if self.snapshot else []
        if any(inside(folder, r.path) for r in roots):
            return
        name = os.path.basename(folder.rstrip(os.sep)) or folder
        self.message_bar.show_message(
            f"“{name}” is not in your library yet. Add it to search its photos and videos; results appear as "
            "indexing proceeds.", "info", [("Add and Index", lambda: self.add_folders([folder]))])
        self._write_status()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library", os.path.expanduser("~"))
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        library = self.library
        folders = [os.path.abspath(f) for f in folders]
        self.runner.submit(lambda: library.add_roots(folders), lambda r, e: self._folders_added(folders, r, e),
                           pool="interactive")

    def _folders_added(self, folders: list[str], roots, error: BaseException | None) -> None:
        if error is not None:
            self.message_bar.show_message(str(error), "error")
            return
        names = ", ".join(os.path.basename(f.rstrip(os.sep)) or f for f in folders)
        self.statusBar().showMessage(f"Added {names}", 4000)
        self.refresh_library()
        if self.library.models.active_name:
            self.start_indexing()

    def remove_root(self, folder: str) -> None:
        if not self.confirm_remove(folder):
            return
        if self.indexing.running:
            self._remove_after_indexing.append(folder)
            self.indexing.cancel()
            return
        self._remove_now(folder)

    def confirm_remove(self, folder: str) -> bool:
        answer = QMessageBox.question(
            self, "Remove folder from library",
            f"Stop searching “{folder}”?\n\nThe files stay where they are; only mediaseek's index of them is removed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _remove_now(self, folder: str) -> None:
        library = self.library

        def done(_result, error: BaseException | None) -> None:
            if error is not None:
                self.message_bar.show_message(str(error), "error")
            if self.scope and inside(self.scope, folder):
                self.set_scope(None)
            self.refresh_library()
            self.search.refresh()
            if self.browsing:
                self.browser.refresh()

        self.runner.submit(lambda: library.remove_root(folder), done, pool="interactive")

    def start_indexing(self, folders: list[str] | None = None) -> None:
        if self.library.models.active_name is None:
            self.open_model_setup()
            return
        self.indexing.start(folders or [])

    def _indexing_finished(self, report, error: BaseException | None) -> None:
        if error is not None and not isinstance(error, MediaseekError):
            self.message_bar.show_message(f"Indexing stopped: {error}", "error")
        elif error is not None:
            self.message_bar.show_message(str(error), "warning")
        pending, self._remove_after_indexing = self._remove_after_indexing, []
        for folder in pending:
            self._remove_now(folder)
        self.refresh_library()
        self._indexed_more()  # the last new files: announced like the others, the grid stays put

    # ====================================================================================
    # models, failures, about
    # ====================================================================================
    def open_model_setup(self) -> ModelSetupDialog:
        if self.model_dialog is None:
            self.model_dialog = ModelSetupDialog(self.library.paths, self)
            self.model_dialog.installed.connect(self._model_installed)
            self.model_dialog.finished.connect(lambda _code: self._update_page())
        self.model_dialog.open()
        return self.model_dialog

    def _model_installed(self) -> None:
        self.message_bar.dismiss()
        self.runner.submit(self.library.warm_up, self._warmed_up, pool="interactive")
        self.refresh_library(start_indexing=True)
        self._update_page()

    def _fill_models_menu(self) -> None:
        self.models_menu.clear()
        active = self.library.models.active_name
        for name in self.library.models.names():
            action = self.models_menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == active)
            action.triggered.connect(lambda _checked=False, n=name: self._use_model(n))
        if self.library.models.names():
            self.models_menu.addSeparator()
        setup = self.models_menu.addAction("Add a Model…")
        setup.triggered.connect(self.open_model_setup)

    def _use_model(self, name: str) -> None:
        try:
            self.library.models.use(name)
        except MediaseekError as exc:
            self.message_bar.show_message(str(exc), "error")
            return
        self.statusBar().showMessage(f"Using model {name}; indexing with it in the background", 5000)
        self.start_indexing()
        self.search.refresh()

    def show_failures(self) -> FailuresDialog:
        if self.failures_dialog is None:
            self.failures_dialog = FailuresDialog(self)
            self.failures_dialog.reveal_requested.connect(desktop.reveal_in_file_manager)
        self.failures_dialog.set_failures(self.snapshot.failed if self.snapshot else [])
        self.refresh_library()
        self.failures_dialog.show()
        self.failures_dialog.raise_()
        return self.failures_dialog

    def _about(self) -> None:
        QMessageBox.about(self, "About mediaseek",
                          "<b>mediaseek</b><br>Search your own photos and videos by describing them.<br>"
                          "Runs offline, on this computer. Your files are never changed or uploaded.")
