"""First run: set up a model, then add a folder.

Importing, downloading or exporting a model runs the real command line (``python -m app models ...``) as a
child process (torch must never be loaded into the window's process). ``ModelSetupDialog`` shows its
progress (a download reports bytes, rate and ETA as ``progress {json}`` lines on stderr) and, on failure,
its one-line reason. Stop interrupts the child (SIGINT, like Ctrl-C, so it deletes its partial download),
and kills it only if it has not ended a few seconds later.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer, Signal
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

PROGRESS_PREFIX = "progress "  # app/model_cli.py writes these lines with --progress json
STOP_GRACE_MS = 5000

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
        self.detected_result: dict = {}

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
        self.choice_download = QRadioButton("Download a ready model (needs an internet connection)")
        self.choice_download.setChecked(True)
        # the download comes first: it offers the catalogue's recommended model (app/catalogue.py)
        self.pages_order = (self.choice_download, self.choice_checkpoint, self.choice_onnx)
        for radio in self.pages_order:
            radio.toggled.connect(self._choice_changed)

        for radio in self.pages_order:
            layout.addWidget(radio)
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
        self.detected = QLabel()  # "Detected: ViT-B-32-256", filled in by a child process (torch stays out)
        self.detected.setWordWrap(True)
        form.addRow("", self.detected)
        self._detect: QProcess | None = None
        self._detect_timer = QTimer(self)
        self._detect_timer.setSingleShot(True)
        self._detect_timer.setInterval(400)
        self._detect_timer.timeout.connect(self.detect_architecture)
        self.checkpoint.textChanged.connect(lambda _text: self._detect_timer.start())
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
        self.catalogue = _catalogue_entries()
        for entry in self.catalogue:  # the recommended entry first
            self.spec.addItem(entry.name)
        self.spec.addItems(DOWNLOADS)
        self.spec.setToolTip("A model from the catalogue, hf:OWNER/REPO for any hub repo in Immich's or "
                             "transformers.js' layout, or ARCHITECTURE:PRETRAINED (exported here, needs torch)")
        self.spec.currentTextChanged.connect(self._describe_spec)
        form.addRow("Model:", self.spec)
        self.spec_info = QLabel()
        self.spec_info.setWordWrap(True)
        form.addRow("", self.spec_info)
        self.pages.addWidget(page)
        layout.addWidget(self.pages)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.download_text = ""  # "120 MB of 399 MB · 5.2 MB/s · 1:10 left"
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self._kill_child)
        self._stopping = False
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
        self._choice_changed()
        self._describe_spec(self.spec.currentText())

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

    def detect_architecture(self) -> None:
        """Guess the checkpoint's architecture in a child process and preselect it when it ends."""
        path = self.checkpoint.text().strip()
        if self._detect is not None:
            self._detect.kill()
            self._detect.waitForFinished(1000)
            self._detect = None
        if not path or not Path(path).is_file():
            self.detected.setText("")
            return
        argv = ["-m", "app.guess_cli", path]
        arch = self.arch.currentText().strip()
        if arch.lower().endswith(".json") and Path(arch).is_file():
            argv += ["--config", arch]
        process = QProcess(self)
        process.setProcessEnvironment(_child_environment(self.paths))
        process.finished.connect(lambda code, status, p=process: self._detected(p))
        self._detect = process
        self.detected.setText("Detecting the architecture…")
        process.start(sys.executable, argv)

    def _detected(self, process: QProcess) -> None:
        if process is not self._detect:
            return  # a newer detection replaced this one
        self._detect = None
        out = bytes(process.readAllStandardOutput()).decode("utf-8", "replace").strip().splitlines()
        try:
            result = json.loads(out[-1]) if out else {}
        except ValueError:
            result = {}
        exact = result.get("exact") or []
        if exact:
            best = exact[0]
            if not best.endswith(".json") and self.arch.findText(best) < 0:
                self.arch.insertItem(0, best)
            arch = self.arch.currentText().strip()
            if not (arch.lower().endswith(".json") and Path(arch).stem == best):
                self.arch.setCurrentText(best)
            same = f" (same shapes as {', '.join(exact[1:3])})" if len(exact) > 1 else ""
            self.detected.setText(f"Detected: {best}{same}")
        elif result.get("error"):
            self.detected.setText(f"Could not detect the architecture — choose it. {result['error']}")
        elif result.get("closest") and result.get("is_clip"):
            self.detected.setText(f"Could not detect the architecture — choose it (closest: {result['closest']}, "
                                  f"{float(result.get('closest_score') or 0):.0%} of parameters match).")
        else:
            self.detected.setText("Could not detect the architecture — choose it.")
        self.detected_result = result

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
        if ":" not in spec and spec not in {e.name for e in self.catalogue}:
            self._show_error("Choose a model from the list, or write hf:OWNER/REPO or ARCHITECTURE:PRETRAINED.")
            return None
        return ["models", "install", spec, "--progress", "json"]

    def _describe_spec(self, spec: str) -> None:
        entry = next((e for e in self.catalogue if e.name == spec.strip()), None)
        if entry is None:
            self.spec_info.setText("Exports the open_clip model on this computer (needs the export extra)."
                                   if ":" in spec and not spec.startswith("hf:") else "")
            return
        size = f"{entry.size_mb:,.0f} MB download" if entry.size_mb else "download size unknown"
        lines = [f"<b>{_escape(entry.name)}</b>{' (recommended)' if entry.recommended else ''}: {size}, "
                 f"{_escape(entry.languages)}", _escape(entry.quality),
                 index_time_estimate(entry.images_per_s) or "indexing speed on this computer: not measured yet"]
        self.spec_info.setText("<br>".join(lines))

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
        self._partial = b""
        self.last_error = ""
        self.download_text = ""
        self._stopping = False
        self.progress.setRange(0, 0)
        self._set_running(True)
        self._show_status("Connecting…" if args[1] == "install"
                          else "Converting the model… this can take a minute.")
        log.info("model setup: %s %s", program, " ".join(argv))
        self.process.start(program, argv)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.start_button.setEnabled(not running)
        for widget in (self.choice_checkpoint, self.choice_onnx, self.choice_download, self.pages):
            widget.setEnabled(not running)
        self.cancel_button.setText("Stop" if running else "Cancel")
        self.cancel_button.setEnabled(True)
        self.adjustSize()  # room for the progress bar and status line

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        self._partial += bytes(self.process.readAllStandardError())
        *complete, self._partial = self._partial.replace(b"\r", b"\n").split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith(PROGRESS_PREFIX):
                self._show_download(line[len(PROGRESS_PREFIX):])
            elif line:
                self._stderr += raw + b"\n"
                if not line.startswith("mediaseek:"):
                    self._show_status(line)

    def _show_download(self, payload: str) -> None:
        try:
            event = json.loads(payload)
            done, total = int(event["done"]), int(event["total"])
        except (ValueError, KeyError, TypeError):
            return
        if event.get("phase") == "done":
            self.progress.setRange(0, 0)
            self._show_status("Checking the model…")
            return
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done / total, 1.0)))
        rate, eta = float(event.get("rate") or 0), event.get("eta")
        text = f"Downloading: {_size(done)} of {_size(total)}"
        if rate > 0:
            text += f" · {_size(rate)}/s"
        if eta is not None:
            text += f" · {_duration(float(eta))} left"
        self.download_text = text
        self._show_status(text)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        self._partial += b"\n"
        self._read_stderr()
        self._stop_timer.stop()
        self.process = None
        self._set_running(False)
        if self._stopping:
            self._stopping = False
            self._show_status("Stopped. Nothing was installed.")
            return
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
        self.adjustSize()  # the whole (word-wrapped) reason, not a clipped line

    def reject(self) -> None:
        if self.process is not None:
            self.stop()
            return
        super().reject()

    def stop(self) -> None:
        """Interrupt the child like Ctrl-C (it cleans up after itself); kill it if it has not ended soon."""
        if self.process is None or self._stopping:
            return
        self._stopping = True
        self._show_status("Stopping…")
        self.cancel_button.setEnabled(False)
        pid = int(self.process.processId())
        if os.name == "posix" and pid > 0:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                self.process.terminate()
        else:
            self.process.terminate()
        if getattr(self.parent(), "_closing", False):
            # the window is closing: wait here, or Qt would kill the child before it cleaned up
            process = self.process
            if not process.waitForFinished(STOP_GRACE_MS):
                process.kill()
                process.waitForFinished(3000)
            return
        self._stop_timer.start(STOP_GRACE_MS)

    def _kill_child(self) -> None:
        if self.process is not None:
            log.warning("model setup child did not stop in time; killing it")
            self.process.kill()

    def done(self, result: int) -> None:  # closing the window while running stops the child first
        if self._detect is not None:
            self._detect.kill()
            self._detect.waitForFinished(1000)
            self._detect = None
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(3000)
            self.process = None
        super().done(result)


def _catalogue_entries() -> list:
    from app import catalogue

    try:
        entries = catalogue.entries()
    except Exception:  # a broken MEDIASEEK_CATALOGUE must not stop the window
        log.exception("cannot read the model catalogue")
        return []
    return sorted(entries, key=lambda e: not e.recommended)


def index_time_estimate(images_per_s: float | None, photos: int = 10_000) -> str:
    """How long indexing ``photos`` photos takes here, from the catalogue's 2-core CPU figure.

    A rough estimate: the figure is scaled by this computer's core count (at most 8) over the 2 cores it
    was measured on; decoding and other load are not counted.
    """
    if not images_per_s:
        return ""
    cores = min(os.cpu_count() or 2, 8)
    rate = images_per_s * max(cores, 2) / 2
    return f"about {_duration(photos / rate)} to index {photos:,} photos here (rough, {cores} CPU cores)"


def _size(count: float) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    return f"{count / 1e6:.0f} MB" if count >= 1e6 else f"{count / 1e3:.0f} kB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


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
