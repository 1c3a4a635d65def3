"""The terminal progress bar renders done/total, rate, ETA and the current file; silent off a TTY."""
from __future__ import annotations

import io

from app.cli import ProgressBar
from indexer.events import IndexProgress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_shows_counts_rate_eta_and_file():
    out = FakeTTY()
    bar = ProgressBar(out)
    bar(IndexProgress("embed", 50, 200, failed=2, rate=10.0, current="/p/IMG_0001.jpg"))
    text = out.getvalue()
    assert "50/200" in text and "10.0/s" in text and "ETA 0:15" in text
    assert "2 failed" in text and "IMG_0001.jpg" in text and "[######" in text


def test_bar_shows_position_inside_a_video():
    out = FakeTTY()
    ProgressBar(out)(IndexProgress("embed", 0, 3, rate=0.5, current="/v/clip.mp4", file_done=65, file_total=600))
    assert "clip.mp4 1:05/10:00" in out.getvalue()


def test_bar_is_silent_when_not_a_terminal():
    out = io.StringIO()
    ProgressBar(out)(IndexProgress("embed", 1, 2, rate=1.0))
    assert out.getvalue() == ""


def test_done_clears_the_line():
    out = FakeTTY()
    bar = ProgressBar(out)
    bar(IndexProgress("embed", 2, 2, rate=1.0))
    bar(IndexProgress("done", 2, 2))
    assert out.getvalue().endswith("\r")
