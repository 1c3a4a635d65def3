"""End to end (issue 10): clean endings over broken files, counts that leave failed files out,
and status/search telling the truth when the active model has no vectors for some files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from tests.conftest import run_cli
from tests.media import save_jpeg, scene
from tests.videogen import segments, write_video

SIZE = (320, 240)


def broken_files(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    (folder / "junk.png").write_bytes(np.random.default_rng(1).bytes(5000))
    (folder / "empty.mov").write_bytes(b"")
    (folder / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300)
    return folder


def test_index_over_only_broken_files_never_aborts(home, tmp_path):
    media = broken_files(tmp_path / "media")
    for attempt in range(5):  # the abort was a race with the model-loading thread: try it often
        fresh = tmp_path / f"home{attempt}"
        shutil.copytree(home, fresh)
        result = run_cli(fresh, "index", media)
        assert result.returncode in (0, 1), (attempt, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr and "terminate called" not in result.stderr, result.stderr
        status = json.loads(run_cli(fresh, "status", "--json", check=True).stdout)
        assert len(status["failed"]) == 4 and status["photos"] == 0 and status["videos"] == 0


def test_failed_files_are_counted_as_failed_not_as_photos_or_videos(home, tmp_path):
    media = broken_files(tmp_path / "media")
    save_jpeg(media / "a.jpg", scene("checker", size=SIZE, seed=1))
    save_jpeg(media / "b.jpg", scene("stripes", size=SIZE, seed=2))
    write_video(media / "clip.mp4", segments([("checker", 2), ("bars", 2)], SIZE), keyint=25)
    run_cli(home, "index", media, check=True)
    status = json.loads(run_cli(home, "status", "--json", check=True).stdout)
    assert (status["photos"], status["videos"], status["indexed"], len(status["failed"])) == (2, 1, 3, 4)
    (root,) = status["roots"]
    assert (root["files"], root["indexed"], root["failed"], root["pending"]) == (7, 3, 4, 0)
    text = run_cli(home, "status", check=True).stdout
    assert "2 photos, 1 videos; 3 indexed, 0 pending, 4 failed" in text
    assert "need indexing" not in text


def test_status_and_search_after_the_models_vectors_are_removed(home, tmp_path, tiny_checkpoint):
    media = tmp_path / "media"
    for i, kind in enumerate(("checker", "stripes", "gradient")):
        save_jpeg(media / f"{kind}.jpg", scene(kind, size=SIZE, seed=i))
    run_cli(home, "index", media, check=True)
    assert run_cli(home, "search", "a picture", check=True).stdout.strip()

    config, checkpoint = tiny_checkpoint
    run_cli(home, "models", "remove", "tiny", check=True)
    run_cli(home, "models", "import", "--arch", config, "--checkpoint", checkpoint, "--name", "tiny", check=True)

    status = json.loads(run_cli(home, "status", "--json", check=True).stdout)
    assert status["embeddings"] == 0 and status["indexed"] == 0 and status["needs_index"] == 3
    assert status["roots"][0]["indexed"] == 0 and status["roots"][0]["pending"] == 3
    text = run_cli(home, "status", check=True).stdout
    assert "3 files need indexing with model tiny (run `mediaseek index`)" in text
    for command in (("search", "a picture"), ("similar", media / "checker.jpg")):
        result = run_cli(home, *command)
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr
        assert "3 files need indexing with model tiny (run `mediaseek index`)" in result.stderr, result.stderr

    run_cli(home, "index", check=True)
    status = json.loads(run_cli(home, "status", "--json", check=True).stdout)
    assert status["indexed"] == 3 and status["needs_index"] == 0 and status["embeddings"] == 3
    result = run_cli(home, "search", "a picture", check=True)
    assert "need indexing" not in result.stderr and result.stdout.strip()
