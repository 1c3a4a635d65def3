"""app/thumbnails.py: cached previews keyed by path, size and mtime, never next to the media."""
from __future__ import annotations

import os

import pytest
from PIL import Image

from app.thumbnails import ThumbnailCache, ThumbnailError, moment_thumbnail_path
from tests.media import save_jpeg, scene


@pytest.fixture
def cache(tmp_path) -> ThumbnailCache:
    return ThumbnailCache(tmp_path / "thumbs")


def test_thumbnail_is_small_upright_cached_and_outside_the_media_folder(cache, tmp_path):
    media = tmp_path / "media"
    source = save_jpeg(media / "portrait.jpg", scene("gradient", (1200, 800)), orientation=6)  # rotate 90° cw
    before = sorted(os.listdir(media))
    thumb = cache.get(str(source), 256)
    with Image.open(thumb) as im:
        assert im.format == "JPEG"
        assert im.size == (171, 256)  # EXIF orientation applied: landscape pixels shown as portrait
    assert thumb.is_relative_to(cache.folder)
    assert sorted(os.listdir(media)) == before
    stamp = thumb.stat().st_mtime_ns
    assert cache.get(str(source), 256) == thumb and thumb.stat().st_mtime_ns == stamp  # served from disk


def test_changed_file_or_size_gets_a_new_thumbnail(cache, tmp_path):
    source = save_jpeg(tmp_path / "a.jpg", scene("red", (640, 480)))
    first = cache.get(str(source), 128)
    assert cache.get(str(source), 256) != first
    save_jpeg(source, scene("blue", (640, 480)))
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10_000_000))
    second = cache.get(str(source), 128)
    assert second != first
    with Image.open(second) as im:
        r, g, b = im.convert("RGB").getpixel((10, 10))
        assert b > r  # the new content, not the stale red one


def test_unreadable_sources_raise_a_reason(cache, tmp_path):
    with pytest.raises(ThumbnailError, match="not found"):
        cache.get(str(tmp_path / "missing.jpg"), 128)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ThumbnailError) as info:
        cache.get(str(empty), 128)
    assert info.value.reason
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a picture at all" * 20)
    with pytest.raises(ThumbnailError):
        cache.get(str(junk), 128)
    assert not cache.files.exists() or not list(cache.files.rglob("*.jpg"))


def test_video_moment_uses_the_indexer_jpeg_then_falls_back_to_the_first_frame(cache, tmp_path):
    from tests.videogen import segments, write_video

    video = write_video(tmp_path / "clip.mp4", segments([("red", 2), ("blue", 2)]), keyint=25)
    moment = moment_thumbnail_path(cache.folder, 7, 2.5)
    moment.parent.mkdir(parents=True)
    Image.new("RGB", (160, 120), (20, 200, 40)).save(moment)  # a green picture: only the moment file has it
    with Image.open(cache.get(str(video), 128, kind="video", timestamp=2.5, media_id=7)) as im:
        r, g, b = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
        assert g > 150 and r < 100
    with Image.open(cache.get(str(video), 128, kind="video", timestamp=3.5, media_id=7)) as im:
        r, g, b = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
        assert r > 150 and b < 100  # no file for 3.5 s: the first frame, which is red
        assert max(im.size) <= 128


def test_broken_video_raises_a_reason(cache, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    with pytest.raises(ThumbnailError) as info:
        cache.get(str(broken), 128, kind="video")
    assert info.value.reason
