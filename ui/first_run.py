"""First run: set up a model, then add a folder.

Importing or downloading a model exports it with torch, which must never be loaded into the
window's process; ``ModelSetupDialog`` runs the real command line (``python -m app models ...``)
as a child process and shows its progress lines and, on failure, its one-line reason.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.paths import AppPaths
from ui.icons import app_icon

log = logging.getLogger(__name__)

# First entries are the README's recommendation (fastest on CPU with >= 70% ImageNet zero-shot,
# bench/bench_models.py), then the fastest text encoder for the quickest queries.
ARCHITECTURES = ("MobileCLIP2-S0", "ViT-B-32-256", "ViT-B-32", "ViT-B-16", "MobileCLIP-S1", "MobileCLIP-S2",
                 "ViT-L-14")
DOWNLOADS = ("MobileCLIP2-S0:dfndr2b", "ViT-B-32-256:datacomp_s34b_b86k", "ViT-B-32:laion2b_s34b_b79k",
             "MobileCLIP-S2:datacompdr", "ViT-B-16:datacomp_xl_s13b_b90k")


def _form_page() -> tuple[QWidget, QFormLayout]:
    """One page of the source choice: a form indented under its radio button."""
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(24, 4, 0, 0)
    return page, form


def _with_button(field: QWidget, label: str, on_click) -> QHBoxLayout:
    """A field stretched across the row with a (non-default) button after it."""
    row = QHBoxLayout()
    row.addWidget(field, 1)
    button = QPushButton(label)
    button.setAutoDefault(False)
    button.clicked.connect(on_click)
    row.addWidget(button)
    return row


def cli_command(*args: str) -> tuple[str, list[str]]:
    """The program and arguments that run ``mediaseek ARGS`` with this interpreter."""
    return sys.executable, ["-m", "app", *args]


def _child_environment(paths: AppPaths | None) -> QProcessEnvironment:
    env = QProcessEnvironment.systemEnvironment()
    if paths is not None and AppPaths.from_env().data != paths.data:
        env.insert("MEDIASEEK_HOME", str(paths.data))  # the child must write where this window reads
    repo = str(Path(__file__).resolve().parents[1])
    current = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", repo + (os.pathsep + current if current else ""))
    env.insert("PYTHONUNBUFFERED", "1")
    return env


def _heading(text: str, scale: float = 1.35) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


class ModelSetupDialog(QDialog):
    """Import a checkpoint or an ONNX export (offline), or download a model (online)."""

    installed = Signal()

    def __init__(self, paths: AppPaths | None = None, parent=None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.setWindowTitle("Set up a search model")
        self.setModal(True)
        self.setMinimumWidth(560)
        self.process: QProcess | None = None
        self.last_error = ""
        self._stderr = b""

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.setContentsMargins(20, 20, 20, 16)
        layout.addWidget(_heading("mediaseek needs a model to understand your photos"))
        intro = QLabel("A CLIP model turns pictures and your descriptions into comparable numbers. "
                       "It runs on this computer; nothing is uploaded. Choose where it comes from:")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.choice_checkpoint = QRadioButton("Import a model file I have (offline)")
        self.choice_onnx = QRadioButton("Use an ONNX export folder (offline, e.g. from Immich)")
        self.choice_download = QRadioButton("Download a model (needs an internet connection)")
        self.choice_checkpoint.setChecked(True)
        for radio in (self.choice_checkpoint, self.choice_onnx, self.choice_download):
            layout.addWidget(radio)
            radio.toggled.connect(self._choice_changed)

        self.pages = QStackedWidget()
        # checkpoint page
        page, form = _form_page()
        self.arch = QComboBox()
        self.arch.setEditable(True)
        self.arch.addItems(ARCHITECTURES)
        self.arch.setToolTip("The open_clip architecture name, or a model config .json file")
        form.addRow("Architecture:", _with_button(self.arch, "Config…", self._browse_config))
        self.checkpoint = QLineEdit()
        self.checkpoint.setPlaceholderText("open_clip checkpoint (.pt, .bin, .safetensors)")
        form.addRow("Checkpoint:", _with_button(self.checkpoint, "Browse…", self._browse_checkpoint))
        self.pages.addWidget(page)
        # onnx page
        page, form = _form_page()
        self.onnx_dir = QLineEdit()
        self.onnx_dir.setPlaceholderText("folder with visual/ and textual/ subfolders")
        form.addRow("Folder:", _with_button(self.onnx_dir, "Browse…", self._browse_onnx))
        self.pages.addWidget(page)
        # download page
        page, form = _form_page()
        self.spec = QComboBox()
        self.spec.setEditable(True)
        self.spec.addItems(DOWNLOADS)
        self.spec.setToolTip("ARCHITECTURE:PRETRAINED as open_clip names them")
        form.addRow("Model:", self.spec)
        self.pages.addWidget(page)
        layout.addWidget(self.pages)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setWindowIcon(app_icon())

    # -- choices ---------------------------------------------------------------------------
    def _choice_changed(self) -> None:
        index = 0 if self.choice_checkpoint.isChecked() else 1 if self.choice_onnx.isChecked() else 2
        self.pages.setCurrentIndex(index)
        self.start_button.setText("Download" if index == 2 else "Import")

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model config", "", "open_clip config (*.json)")
        if path:
            self.arch.setCurrentText(path)

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model checkpoint", "",
                                              "Checkpoints (*.pt *.pth *.bin *.safetensors);;All files (*)")
        if path:
            self.checkpoint.setText(path)

    def _browse_onnx(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "ONNX export folder")
        if path:
            self.onnx_dir.setText(path)

    def command_arguments(self) -> list[str] | None:
        """The ``mediaseek`` arguments for the current choice, or None with a message shown."""
        if self.choice_checkpoint.isChecked():
            arch, checkpoint = self.arch.currentText().strip(), self.checkpoint.text().strip()
            if not arch or not checkpoint:
                self._show_error("Choose the architecture and the checkpoint file.")
                return None
            return ["models", "import", "--arch", arch, "--checkpoint", checkpoint]
        if self.choice_onnx.isChecked():
            folder = self.onnx_dir.text().strip()
            if not folder:
                self._show_error("Choose the folder of the ONNX export.")
                return None
            return ["models", "import-onnx", folder]
        spec = self.spec.currentText().strip()
        if ":" not in spec:
            self._show_error("Write the model as ARCHITECTURE:PRETRAINED, e.g. ViT-B-32:laion2b_s34b_b79k.")
            return None
        return ["models", "install", spec]

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.process is not None:
            return
        args = self.command_arguments()
        if args is None:
            return
        program, argv = cli_command(*args)
        self.process = QProcess(self)
        self.process.setProcessEnvironment(_child_environment(self.paths))
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.readyReadStandardOutput.connect(lambda: self.process and self.process.readAllStandardOutput())
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self._stderr = b""
        self.last_error = ""
        self._set_running(True)
        self._show_status("Downloading and converting the model…" if args[1] == "install"
                          else "Converting the model… this can take a minute.")
        log.info("model setup: %s %s", program, " ".join(argv))
        self.process.start(program, argv)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.start_button.setEnabled(not running)
        for widget in (self.choice_checkpoint, self.choice_onnx, self.choice_download, self.pages):
            widget.setEnabled(not running)
        self.cancel_button.setText("Stop" if running else "Cancel")

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        self._stderr += bytes(self.process.readAllStandardError())
        lines = [ln.strip() for ln in self._stderr.decode("utf-8", "replace").replace("\r", "\n").splitlines()
                 if ln.strip()]
        if lines and not lines[-1].startswith("mediaseek:"):
            self._show_status(lines[-1])

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        self.process = None
        self._set_running(False)
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            self._show_status("The model is ready.")
            self.installed.emit()
            self.accept()
            return
        lines = self._stderr.decode("utf-8", "replace").splitlines()
        reason = next((ln.split(":", 1)[1].strip() for ln in reversed(lines) if ln.startswith("mediaseek:")), "")
        if not reason:
            reason = lines[-1].strip() if lines else f"the import stopped (exit code {code})"
        if "no network" in reason or "offline" in reason:
            reason += ("\n\nYou seem to be offline. Import a model file you already have instead, "
                       "or connect to the internet and try again.")
        self._show_error(reason)

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.process = None
            self._set_running(False)
            self._show_error("Could not start the model import.")

    def _show_status(self, text: str) -> None:
        self.status.setText(_escape(text))
        self.status.show()

    def _show_error(self, text: str) -> None:
        self.last_error = text
        self.status.setText(f"<b>That did not work.</b> {_escape(text)}")
        self.status.show()

    def reject(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(3000)
            self.process = None
            self._set_running(False)
            self._show_status("Stopped.")
            return
        super().reject()


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", "<br>"))


class EmptyStatePage(QWidget):
    """A centred message with one primary action: used for "no model" and "no folders yet"."""

    action_clicked = Signal()

    def __init__(self, title: str, text: str, action: str, icon: QIcon | None = None, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        self.icon = QLabel()
        self.icon.setPixmap((icon or app_icon()).pixmap(96, 96))
        icon = self.icon
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(icon)
        heading = _heading(title, 1.5)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.text = QLabel(text)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setMaximumWidth(460)
        self.text.setMinimumWidth(120)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.text, 20)
        row.addStretch(1)
        layout.addLayout(row)
        self.button = QPushButton(action)
        self.button.setDefault(True)
        self.button.setMinimumWidth(140)
        self.button.clicked.connect(self.action_clicked)
        button_row = QHBoxLayout()
        button_row.addStretch(1)
        button_row.addWidget(self.button)
        button_row.addStretch(1)
        layout.addSpacing(8)
        layout.addLayout(button_row)
        layout.addStretch(3)
