"""First run: no model (import one through the real CLI in a child process), then no folders."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from tests.fakehub import fakehub, tiny_immich_files  # noqa: F401
from tests.ui.conftest import PHOTOS, make_photos, wait_idle


def test_first_run_imports_a_model_adds_a_folder_and_searches(qtbot, make_window, bare_paths, tiny_checkpoint,
                                                               tmp_path, monkeypatch):
    config, checkpoint = tiny_checkpoint
    window = make_window(on=bare_paths)
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
    assert window.current_page() == "no-model"
    dialog = window.model_dialog
    assert dialog.choice_download.isChecked()  # a ready model is offered first
    dialog.choice_checkpoint.setChecked(True)
    dialog.arch.setCurrentText(str(config))
    dialog.checkpoint.setText(str(checkpoint))
    dialog.start_button.click()
    assert dialog.process is not None and dialog.progress.isVisible() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=240_000)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.last_error
    assert window.library.models.active_name == "mediaseek-tiny"
    qtbot.waitUntil(lambda: window.current_page() == "welcome", timeout=10_000)

    photos = make_photos(tmp_path / "my photos")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(photos))
    window.welcome_page.button.click()  # "Add Folder…" with the folder picker answered
    qtbot.waitUntil(lambda: window.snapshot is not None and len(window.snapshot.roots) == 1, timeout=20_000)
    wait_idle(qtbot, window, timeout=60_000)
    assert window.indexing.last_report is not None and window.indexing.last_report.embedded == len(PHOTOS)
    # with photos in the library the window browses them (newest first) before any query
    qtbot.waitUntil(lambda: window.current_page() == "results" and window.model.browsing
                    and window.model.rowCount() == len(PHOTOS), timeout=10_000)
    window.search.submit("a checkerboard")
    qtbot.waitUntil(lambda: not window.model.browsing and window.model.rowCount() == len(PHOTOS), timeout=10_000)


def test_model_dialog_explains_missing_input_and_offline_download(qtbot, make_window, bare_paths, monkeypatch):
    window = make_window(on=bare_paths)
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
    dialog = window.model_dialog
    dialog.choice_checkpoint.setChecked(True)
    dialog.start_button.click()  # no checkpoint chosen
    assert dialog.process is None and "checkpoint" in dialog.last_error

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dialog.choice_download.setChecked(True)
    assert dialog.start_button.text() == "Download"
    dialog.spec.setCurrentText("ViT-B-32:laion2b_s34b_b79k")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=120_000)
    assert dialog.isVisible()
    assert "no network" in dialog.last_error and "offline" in dialog.last_error, dialog.last_error
    assert "Traceback" not in dialog.status.text()
    assert window.library.models.active_name is None
    dialog.reject()
    assert window.current_page() == "no-model"  # still says what to do


def test_existing_library_without_folders_shows_the_welcome_page(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(lambda: window.current_page() == "welcome", timeout=10_000)
    assert window.model_dialog is None


def test_download_shows_progress_and_stop_leaves_nothing_then_installs(qtbot, make_window, bare_paths, fakehub,
                                                                       monkeypatch):
    """Against the loopback hub: bytes/total/rate in the dialog, Stop mid-file, then a full install."""
    from tests.fakehub import TINY_ENTRY, Fault, leftovers

    monkeypatch.setenv("MEDIASEEK_HUB_STALL_S", "60")
    fakehub.faults["visual/model.onnx"] = Fault("stall", at=1_000_000, times=1)
    window = make_window(on=bare_paths)
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
    dialog = window.model_dialog
    assert dialog.choice_download.isChecked() and dialog.spec.currentText() == TINY_ENTRY
    assert "recommended" in dialog.spec_info.text() and "MB download" in dialog.spec_info.text()
    assert "to index 10,000 photos" in dialog.spec_info.text()
    dialog.start_button.click()
    qtbot.waitUntil(lambda: fakehub.sent.get("visual/model.onnx", 0) >= 1_000_000, timeout=60_000)
    qtbot.waitUntil(lambda: dialog.progress.maximum() == 1000 and dialog.progress.value() > 0, timeout=20_000)
    assert " of " in dialog.download_text and "MB" in dialog.download_text
    assert dialog.cancel_button.text() == "Stop"
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=20_000)
    assert dialog.isVisible() and "Stopped" in dialog.status.text()
    assert leftovers(bare_paths.data) == [] and window.library.models.active_name is None

    dialog.start_button.click()  # the fault was one-shot: this one completes
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=120_000)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.last_error
    assert window.library.models.active_name == TINY_ENTRY
    assert leftovers(bare_paths.data) == []


def test_closing_the_window_mid_download_leaves_nothing(qtbot, make_window, bare_paths, fakehub, monkeypatch):
    from tests.fakehub import Fault, leftovers

    monkeypatch.setenv("MEDIASEEK_HUB_STALL_S", "60")
    fakehub.faults["visual/model.onnx"] = Fault("stall", at=1_000_000)
    window = make_window(on=bare_paths)
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
    dialog = window.model_dialog
    dialog.start_button.click()
    qtbot.waitUntil(lambda: fakehub.sent.get("visual/model.onnx", 0) >= 1_000_000, timeout=60_000)
    process = dialog.process
    window.close()
    assert process.state() == process.ProcessState.NotRunning
    assert leftovers(bare_paths.data) == []


def test_choosing_a_checkpoint_preselects_its_architecture_and_a_wrong_choice_names_it(qtbot, make_window,
                                                                                      bare_paths, tmp_path):
    import logging

    import open_clip
    import torch

    logging.disable(logging.WARNING)
    try:
        model = open_clip.create_model("ViT-S-32-alt")  # randomly initialised, no download
    finally:
        logging.disable(logging.NOTSET)
    checkpoint = tmp_path / "ViT-B-32-256.pt"  # a misleading name: the shapes decide
    torch.save(model.state_dict(), checkpoint)
    del model

    window = make_window(on=bare_paths)
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
    dialog = window.model_dialog
    dialog.choice_checkpoint.setChecked(True)
    assert dialog.arch.currentText() == "MobileCLIP2-S0"
    dialog.checkpoint.setText(str(checkpoint))
    qtbot.waitUntil(lambda: dialog.detected.text().startswith("Detected:"), timeout=120_000)
    assert dialog.detected.text() == "Detected: ViT-S-32-alt"
    assert dialog.arch.currentText() == "ViT-S-32-alt"  # preselected, and added to the list
    assert dialog.arch.findText("ViT-S-32-alt") >= 0

    dialog.arch.setCurrentText("MobileCLIP2-S0")  # the user insists on the wrong one
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=240_000)
    assert dialog.isVisible() and window.library.models.active_name is None
    error = dialog.last_error
    assert error.startswith("ViT-B-32-256.pt does not fit MobileCLIP2-S0 (") and "missing keys" in error
    assert error.endswith("use --arch ViT-S-32-alt")
    assert dialog.status.wordWrap() and error.replace("<", "&lt;") in dialog.status.text()  # the whole line
    dialog.reject()


def test_a_non_checkpoint_file_says_the_architecture_could_not_be_detected(qtbot, make_window, bare_paths, tmp_path):
    junk = tmp_path / "notes.pt"
    junk.write_bytes(b"just some text\n")
    window = make_window(on=bare_paths)
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
    dialog = window.model_dialog
    dialog.choice_checkpoint.setChecked(True)
    dialog.checkpoint.setText(str(junk))
    qtbot.waitUntil(lambda: dialog.detected.text().startswith("Could not detect"), timeout=120_000)
    assert "notes.pt is not a PyTorch checkpoint" in dialog.detected.text()
    assert dialog.arch.currentText() == "MobileCLIP2-S0"  # left alone
    dialog.reject()
