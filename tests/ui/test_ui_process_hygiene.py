"""The window's process never imports torch/open_clip, and ``import ui.main`` stays cheap.

Checked in a fresh interpreter, because this test process has imported torch itself (the tiny
model fixture builds a checkpoint)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = r"""
import json, os, sys
import ui.main
cheap = not any(m.startswith("PySide6") for m in sys.modules)
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.library import Library
from ui.main_window import MainWindow
from ui.tasks import SyncTaskRunner
library = Library()
window = MainWindow(library, SyncTaskRunner())
window.search.fixed_strength = 0.0       # every match, not only those that stand out
window.show()
window.start(None)                       # library read, warm-up, indexing of what changed
window.search.submit("a red square")     # text search
window.view.setCurrentIndex(window.model.index(0))   # preview: details, large picture
window.preview.similar_button.click()    # image encoder
window.view.viewport().grab()            # paint: thumbnails
app.processEvents()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "open_clip", "torchvision"))
print(json.dumps({"cheap": cheap, "results": window.model.rowCount(), "similar": window.search.state.image,
                  "thumbnails": window.loader.generated, "heavy": heavy}))
window.close()
"""


def test_gui_process_never_imports_torch(home, indexed):
    env = {**os.environ, "MEDIASEEK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "MEDIASEEK_PROVIDERS": "CPUExecutionProvider", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["results"] == 4 and facts["similar"]  # the app really searched, then searched by picture
    assert facts["thumbnails"] >= 1
    assert facts["heavy"] == []
    assert facts["cheap"], "importing ui.main must not import Qt"
