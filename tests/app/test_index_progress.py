"""Progress events from the service layer: photos count up, videos report progress inside the file."""
from __future__ import annotations

import threading

from tests.media import save_jpeg, scene
from tests.videogen import segments, write_video


def test_progress_events_cover_photos_and_seconds_inside_a_video(library, tmp_path):
    media = tmp_path / "media"
    for i in range(5):
        save_jpeg(media / f"p{i}.jpg", scene("noise", seed=i))
    write_video(media / "clip.mp4", segments([("red", 6), ("blue", 6)]), keyint=25)
    events = []
    report = library.index([media], on_progress=events.append, batch_size=2)
    assert report.embedded == 6 and report.moments >= 2 and report.failed == 0
    embed = [e for e in events if e.phase == "embed"]
    assert [e.done for e in embed if not e.file_total] == sorted(e.done for e in embed if not e.file_total)
    inside = [e for e in embed if e.file_total]
    assert inside and abs(inside[0].file_total - 12.0) < 0.5
    assert [e.file_done for e in inside] == sorted(e.file_done for e in inside)
    assert inside[-1].file_done >= 11.0
    assert events[-1].phase == "done"


def test_cancel_before_start_indexes_nothing(library, tmp_path):
    save_jpeg(tmp_path / "a.jpg", scene("red"))
    cancel = threading.Event()
    cancel.set()
    report = library.index([tmp_path], cancel=cancel)
    assert report.cancelled and report.embedded == 0
    assert library.status().pending == 1
