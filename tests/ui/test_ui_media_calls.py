"""ui.media_calls: QMediaPlayer's control calls with the GIL released (the player tests drive them on a
real clip; these check the mechanism itself)."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QUrl

from ui import media_calls, video_player

pytestmark = pytest.mark.skipif(not video_player.available(), reason="Qt Multimedia unavailable")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the wheel's symbols are checked on Linux")
def test_the_calls_are_found_in_the_loaded_qt_multimedia(qapp):
    assert media_calls.releases_gil()


@pytest.mark.parametrize("released", [True, False])
def test_a_player_follows_the_calls(qapp, qtbot, tmp_path, monkeypatch, released):
    from tests.videogen import segments, write_video

    if not released:  # the plain PySide calls, as on a platform without the symbols
        monkeypatch.setattr(media_calls, "_functions", {})
    video_player._load()
    player = video_player.QMediaPlayer()
    clip = write_video(tmp_path / "clip.mp4", segments([("red", 2), ("blue", 2)]), keyint=25)
    media_calls.call(player, "setSource", QUrl.fromLocalFile(str(clip)))
    assert player.source().toLocalFile() == str(clip)
    qtbot.waitUntil(lambda: player.mediaStatus() == player.MediaStatus.LoadedMedia, timeout=15_000)
    media_calls.call(player, "setPosition", 2500)
    qtbot.waitUntil(lambda: abs(player.position() - 2500) < 200, timeout=10_000)
    media_calls.call(player, "play")
    assert player.playbackState() == player.PlaybackState.PlayingState
    media_calls.call(player, "pause")
    assert player.playbackState() == player.PlaybackState.PausedState
    media_calls.call(player, "stop")
    assert player.playbackState() == player.PlaybackState.StoppedState
    media_calls.call(player, "setSource", QUrl())
    assert player.source().isEmpty()
    player.deleteLater()
