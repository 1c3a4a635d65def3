"""Video playback in the viewer: real Qt Multimedia (FFmpeg backend) on real generated H.264 files.

Runs offscreen with no audio device, as CI does: the video must still play.
"""
from __future__ import annotations

import os
import shutil

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ui import video_player

pytestmark = [
    pytest.mark.skipif(not video_player.available(),
                       reason=f"Qt Multimedia unavailable: {video_player.unavailable_reason()}"),
]


@pytest.fixture
def with_video(paths, indexed):
    """The photos plus a 12 s H.264 clip (three scenes, with audio), all indexed."""
    from app.library import Library
    from tests.videogen import segments, write_video

    video = write_video(indexed / "clips" / "scenes.mp4",
                        segments([("red", 4), ("blue", 4), ("photo", 4)]), keyint=25, audio=True)
    with Library(paths, providers=["CPUExecutionProvider"]) as library:
        report = library.index([indexed])
    assert report.failed == 0
    return video


def open_video(qtbot, window):
    window.search.submit("anything")
    rows = [i for i, r in enumerate(window.model.results) if r.kind == "video"]
    assert rows, ("the clip is among the results", [(r.kind, r.score) for r in window.model.results],
                  window.model.browsing, window.message_bar.text.text(), window.library.status())
    window.view.setFocus()
    window.view.setCurrentIndex(window.model.index(rows[0]))
    QTest.keyClick(window.view, Qt.Key.Key_Space)
    viewer = window.viewer
    assert viewer.isVisible() and viewer.result.kind == "video"
    return viewer, rows[0]


def test_a_video_plays_from_its_moment_with_ticks_and_controls(qtbot, make_window, with_video):
    window = make_window(sync=True)
    viewer, row = open_video(qtbot, window)
    player = viewer.player
    assert viewer.playing_video() and viewer.stack.currentWidget() is player
    result = viewer.result
    start = int((result.timestamp or 0) * 1000)
    qtbot.waitUntil(lambda: player.player.duration() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: player.player.position() >= start - 1000, timeout=15_000)
    assert player.player.position() >= start - 1000  # not from 0:00 (unless the moment is there)
    expected = sorted(int(round(m.timestamp * 1000)) for m in result.moments)
    assert player.timeline.ticks == expected and len(expected) >= 1
    assert "a frame of the video" not in viewer.title.text() and not viewer.zoom_button.isVisible()

    # K pauses and plays; the button follows
    qtbot.waitUntil(lambda: player.player.playbackState() == player.player.PlaybackState.PlayingState,
                    timeout=10_000)
    QTest.keyClick(viewer, Qt.Key.Key_K)
    assert player.player.playbackState() == player.player.PlaybackState.PausedState
    assert player.play_button.text() == "Play"
    QTest.keyClick(viewer, Qt.Key.Key_K)
    assert player.player.playbackState() == player.player.PlaybackState.PlayingState

    # a click on a tick seeks to that moment exactly (snapped), after pausing
    player.toggle_play()
    far = max(expected, key=lambda t: abs(t - player.player.position()))
    target = far if abs(far - player.player.position()) > 1500 else 11_000
    x = player.timeline.x_of(target)
    QTest.mouseClick(player.timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(x, player.timeline.height() // 2))
    qtbot.waitUntil(lambda: abs(player.player.position() - target) < 1000, timeout=10_000)
    QTest.keyClick(viewer, Qt.Key.Key_J)  # back 5 s
    qtbot.waitUntil(lambda: abs(player.player.position() - max(0, target - 5000)) < 1000, timeout=10_000)
    QTest.keyClick(viewer, Qt.Key.Key_M)
    assert player.audio.isMuted() and player.mute_button.text() == "Unmute"
    assert "/ 0:12" in player.time_label.text()

    # stepping to a photo stops the player and releases the file
    step = 1 if row + 1 < window.model.rowCount() else -1
    QTest.keyClick(viewer, Qt.Key.Key_Right if step == 1 else Qt.Key.Key_Left)
    assert viewer.result.kind == "photo" and not viewer.playing_video()
    assert player.player.playbackState() == player.player.PlaybackState.StoppedState
    assert player.player.source().isEmpty()
    qtbot.waitUntil(lambda: viewer.canvas.pixmap is not None, timeout=10_000)


@pytest.mark.parametrize("leave", ["esc", "close the window"])
def test_leaving_stops_the_video(qtbot, make_window, with_video, leave):
    window = make_window(sync=True)
    viewer, _row = open_video(qtbot, window)
    player = viewer.player
    qtbot.waitUntil(lambda: player.player.playbackState() == player.player.PlaybackState.PlayingState,
                    timeout=15_000)
    if leave == "esc":
        QTest.keyClick(viewer, Qt.Key.Key_Escape)
    else:
        window.close()
    assert not viewer.isVisible()
    assert player.player.playbackState() == player.player.PlaybackState.StoppedState
    assert player.player.source().isEmpty()  # the file and the decoder threads are released


@pytest.mark.parametrize("damage", ["garbage", "gone"])
def test_a_video_that_cannot_play_falls_back_to_its_frame_with_a_message(qtbot, make_window, with_video, damage):
    window = make_window(sync=True)
    window.search.submit("anything")
    keep = with_video.with_suffix(".bak")
    shutil.copy(with_video, keep)
    if damage == "gone":
        os.remove(with_video)
    else:
        with_video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    try:
        viewer, _row = open_video(qtbot, window)
        qtbot.waitUntil(lambda: not viewer.playing_video(), timeout=15_000)
        shown = viewer.title.text() + " " + viewer.canvas.message
        assert "Cannot play this video" in shown or "Cannot show" in shown
        assert viewer.open_button.isVisible()  # the system's player remains
    finally:
        shutil.move(keep, with_video)


def test_at_the_end_play_replays_from_the_start(qtbot, make_window, with_video):
    window = make_window(sync=True)
    viewer, _row = open_video(qtbot, window)
    player = viewer.player
    qtbot.waitUntil(lambda: player.player.duration() > 0, timeout=15_000)
    player.seek(player.player.duration() - 300)
    qtbot.waitUntil(lambda: player.player.mediaStatus() == player.player.MediaStatus.EndOfMedia, timeout=15_000)
    assert player.play_button.text() == "Replay"
    QTest.keyClick(viewer, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: player.player.playbackState() == player.player.PlaybackState.PlayingState,
                    timeout=10_000)
    assert player.player.position() < 3000 and player.play_button.text() == "Pause"


def test_the_window_starts_without_loading_qt_multimedia(make_window, indexed):
    """The player (and Qt Multimedia, ~0.3 s to load) comes with the first video shown, not at start-up."""
    import subprocess
    import sys

    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "import ui.main_window; print('PySide6.QtMultimedia' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]
    window = make_window(sync=True)
    assert window.viewer.player is None
