"""The real desktop app on a real X server (Xvfb): launch ``mediaseek gui --folder DIR``, type a
query with the keyboard (xdotool), wait for results, select one, take screenshots.

What the window shows is checked twice: through the status file the app mirrors its state into
(MEDIASEEK_GUI_STATUS) and through the screenshot itself, which must contain the thumbnails' own
colours — the red and blue test photos — as large blocks of pixels.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO, mediaseek_command, run_cli
from tests.media import save_jpeg, scene

TOOLS = ("Xvfb", "xdotool", "import")
pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None,
    reason="Xvfb is not installed (apt-get install xvfb xdotool imagemagick libxcb-cursor0)")

RED, BLUE = (220, 30, 0), (0, 60, 230)  # scene("red") and scene("blue") from tests/media.py


@pytest.fixture
def display():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"Xvfb is installed but {', '.join(missing)} is not (apt-get install xdotool imagemagick)")
    server = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    number = server.stdout.readline().decode().strip()
    assert number.isdigit(), "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait(10)


def _status(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _wait(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _screenshot(display: str, target: Path) -> np.ndarray:
    subprocess.run(["import", "-display", display, "-window", "root", str(target)], check=True, timeout=30)
    with Image.open(target) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def _pixels_like(shot: np.ndarray, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    return int((np.abs(shot - np.array(colour)).max(axis=2) <= tolerance).sum())


def test_type_a_query_and_see_thumbnails(home, tmp_path, display):
    photos = tmp_path / "Holiday photos"
    for i, kind in enumerate(("red", "blue", "checker", "stripes", "gradient")):
        save_jpeg(photos / f"{kind}.jpg", scene(kind, (800, 600), seed=i))
    run_cli(home, "index", photos, check=True)

    status = tmp_path / "status.json"
    env = {**os.environ, "MEDIASEEK_HOME": str(home), "MEDIASEEK_PROVIDERS": "CPUExecutionProvider",
           "PYTHONPATH": str(REPO), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "MEDIASEEK_GUI_STATUS": str(status)}
    env.pop("WAYLAND_DISPLAY", None)
    app = subprocess.Popen([*mediaseek_command(), "gui", "--folder", str(photos)], env=env, cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    xdo = {**env}
    try:
        _wait(lambda: _status(status).get("visible") and _status(status).get("roots") is not None, "the window")
        # with no query the window shows the folder's photos, newest first under a month header
        _wait(lambda: _status(status).get("results") == 5 and _status(status).get("thumbnails", 0) >= 5,
              "the folder's photos with their thumbnails")
        state = _status(status)
        assert state["scope"] == str(photos) and state["page"] == "results" and state["browsing"]
        assert state["header"] and state["header"].split()[-1].isdigit()  # "December 2026"
        time.sleep(0.5)  # let the last thumbnails paint
        before = _screenshot(display, tmp_path / "gui-start.png")
        assert before.std() > 10  # a drawn window, not a blank screen
        # each grid thumbnail is a 168 px square: the red and blue photos must be on screen
        assert _pixels_like(before, RED) > 150 * 150 and _pixels_like(before, BLUE) > 150 * 150

        window = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "mediaseek"],
                                env=xdo, capture_output=True, text=True, timeout=30).stdout.split()
        assert window, "no visible mediaseek window on the display"
        subprocess.run(["xdotool", "windowfocus", "--sync", window[-1]], env=xdo, check=True, timeout=30)
        subprocess.run(["xdotool", "type", "--delay", "40", "a red square"], env=xdo, check=True, timeout=60)
        _wait(lambda: not _status(status).get("browsing") and _status(status).get("results", 0) >= 1,
              "search results")
        state = _status(status)
        assert state["query"] == "a red square" and state["page"] == "results"
        assert state["results"] + state["weaker"] == 5  # the matches that stand out, the rest behind "Show"
        time.sleep(0.5)
        shot = _screenshot(display, tmp_path / "gui-results.png")
        assert shot.std() > 10

        subprocess.run(["xdotool", "key", "Down"], env=xdo, check=True, timeout=30)
        _wait(lambda: _status(status).get("selected") is not None, "a selected result")
        first = _status(status)["first"]
        assert _status(status)["selected"] == first
        time.sleep(0.5)
        preview = _screenshot(display, tmp_path / "gui-preview.png")
        assert preview.std() > 10

        subprocess.run(["xdotool", "key", "space"], env=xdo, check=True, timeout=30)  # the full-window viewer
        _wait(lambda: _status(status).get("viewer") == first, "the viewer")
        time.sleep(0.5)
        viewer = _screenshot(display, tmp_path / "gui-viewer.png")
        assert viewer.std() > 10
        subprocess.run(["xdotool", "key", "Escape"], env=xdo, check=True, timeout=30)
        _wait(lambda: _status(status).get("viewer") is None and _status(status).get("query") == "a red square",
              "back to the grid")

        subprocess.run(["xdotool", "key", "ctrl+q"], env=xdo, check=True, timeout=30)
        app.wait(30)
    finally:
        if app.poll() is None:
            app.kill()
        _, err = app.communicate(timeout=30)
    assert app.returncode == 0, err.decode(errors="replace")
    assert b"Traceback" not in err, err.decode(errors="replace")
    print(f"screenshots: {tmp_path / 'gui-results.png'}, {tmp_path / 'gui-preview.png'}")
