"""KeyframeSampler and probe_video on videos generated at test time (PyAV + libx264)."""
from __future__ import annotations

import logging
import os
import shutil
import threading
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.video import (
    VIDEO_EXTENSIONS,
    KeyframeSampler,
    Moment,
    SamplerConfig,
    Signature,
    VideoError,
    probe_video,
    save_thumbnail,
)
from tests.media import save_jpeg, scene
from tests.videogen import (
    COLOURS,
    flat,
    lie_about_mkv_duration,
    lie_about_mp4_duration,
    photo_like,
    scene_array,
    segments,
    truncated_copy,
    write_audio_only,
    write_video,
)

SIZE = (320, 240)
SCENES = [("red", 4), ("blue", 4), ("photo", 4)]  # scene starts at 0, 4 and 8 s
# A keyframe every second, as phones write them. x264's own placement (keyframes at cuts) depends
# on content: a cut between two flat colours is cheap as a P-frame and gets none.
GOP = 25


def sample(path: Path, config: SamplerConfig = SamplerConfig(), **kwargs) -> list[Moment]:
    return list(KeyframeSampler(config).moments(path, **kwargs))


def centre(image: Image.Image) -> np.ndarray:
    w, h = image.size
    return np.asarray(image.crop((w // 3, h // 3, 2 * w // 3, 2 * h // 3))).reshape(-1, 3).mean(0)


def looks_like(image: Image.Image, kind: str, index: int) -> bool:
    """Is the moment's picture scene ``kind`` (the ``index``-th part of a ``segments`` video)?"""
    if kind in COLOURS:
        return bool(np.abs(centre(image) - np.array(COLOURS[kind])).max() < 25)
    expected = scene_array(kind, image.size, seed=index).astype(np.float32)
    return float(np.abs(np.asarray(image, np.float32) - expected).mean()) < 20


def assert_scene_moments(moments: list[Moment], parts, tolerance: float = 1.0) -> None:
    times = [m.timestamp for m in moments]
    assert times == sorted(times)
    start = 0.0
    for index, (kind, seconds) in enumerate(parts):
        near = [m for m in moments if abs(m.timestamp - start) <= tolerance and start - 0.01 <= m.timestamp]
        assert near, f"no moment within {tolerance} s after the start of {kind} at {start} s: {times}"
        assert looks_like(near[0].image, kind, index), f"moment at {near[0].timestamp} does not show {kind}"
        start += seconds


@pytest.fixture(scope="module")
def scenes_mp4(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "scenes.mp4", segments(SCENES, SIZE), keyint=GOP)


# --- choosing moments ------------------------------------------------------------------------

def test_extensions_cover_phone_and_camera_formats():
    assert {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts"} <= VIDEO_EXTENSIONS


def test_scene_starts_become_moments_showing_that_scene(scenes_mp4):
    moments = sample(scenes_mp4)
    assert_scene_moments(moments, SCENES)
    assert moments[0].timestamp == 0.0 and moments[0].trigger == "first"
    assert all(m.image.mode == "RGB" and m.image.size == SIZE for m in moments)
    gaps = np.diff([m.timestamp for m in moments])
    assert (gaps >= SamplerConfig().min_interval - 1e-6).all()


@pytest.mark.parametrize("options", [
    {"x264-params": "keyint=25:min-keyint=25:scenecut=0"},  # a phone: a keyframe every second, none at cuts
    {"x264-params": "keyint=1"},  # all intra: every frame is a keyframe
], ids=["fixed-gop", "all-intra"])
def test_cuts_between_keyframes_are_found_within_a_second(tmp_path, options):
    parts = [("red", 4.5), ("blue", 4), ("photo", 3.5)]
    path = write_video(tmp_path / "phone.mp4", segments(parts, SIZE), options=options)
    assert_scene_moments(sample(path), parts)


def test_long_static_shot_gives_one_moment_even_with_one_keyframe(tmp_path):
    frames = segments([("grey", 40)], SIZE)
    path = write_video(tmp_path / "static.mp4", frames, keyint=1000)  # a single keyframe at 0 s
    moments = sample(path)
    assert [(m.timestamp, m.trigger) for m in moments] == [(0.0, "first")]
    assert looks_like(moments[0].image, "grey", 0)


def test_slowly_changing_shot_is_covered_every_max_interval_despite_sparse_keyframes(tmp_path):
    """A slow pan never crosses the scene threshold between two candidates, but it does change:
    with no keyframe after 0 s the sampler must decode its way to a moment every max_interval."""
    base = np.concatenate([photo_like(SIZE, seed=3)] * 2, axis=1)
    fps, seconds, speed = 25, 32, 2  # pixels per second
    frames = ((i / fps, base[:, int(i / fps * speed):int(i / fps * speed) + SIZE[0]])
              for i in range(fps * seconds))
    path = write_video(tmp_path / "pan.mp4", frames, keyint=1000)
    config = SamplerConfig()
    moments = sample(path, config)
    times = [m.timestamp for m in moments]
    assert [m.trigger for m in moments[1:]] == ["interval"] * (len(moments) - 1), times
    assert len(moments) == 4, times  # 0, ~10, ~20, ~30 s
    assert all(config.max_interval - 0.01 <= gap <= config.max_interval + 1 for gap in np.diff(times)), times


def test_cut_inside_a_very_long_gop_is_found(tmp_path):
    parts = [("red", 14), ("blue", 6)]
    path = write_video(tmp_path / "longgop.mkv", segments(parts, SIZE), keyint=1000)
    moments = sample(path)
    blue = [m for m in moments if looks_like(m.image, "blue", 1)]
    assert blue and 14 <= blue[0].timestamp <= 15, [m.timestamp for m in moments]


def test_config_changes_the_rule(scenes_mp4):
    # Thresholds out of reach: only the first frame, whatever happens on screen.
    assert len(sample(scenes_mp4, SamplerConfig(scene_threshold=1.0, duplicate_threshold=1.0))) == 1
    # min_interval longer than the scenes: the blue scene at 4 s cannot follow the red at 0 s.
    times = [m.timestamp for m in sample(scenes_mp4, SamplerConfig(min_interval=5, max_interval=10))]
    assert times[0] == 0.0 and all(t >= 5 for t in times[1:]) and len(times) >= 2


def test_invalid_config_is_refused():
    with pytest.raises(ValueError):
        SamplerConfig(min_interval=5, max_interval=2)
    with pytest.raises(ValueError):
        SamplerConfig(scene_threshold=0.01, duplicate_threshold=0.1)
    with pytest.raises(ValueError):
        SamplerConfig(analysis_size=30)


def test_signature_separates_scenes_from_noise():
    config = SamplerConfig()
    rng = np.random.default_rng(0)
    red, blue = flat("red", (64, 64)), flat("blue", (64, 64))
    photo = photo_like((64, 64), seed=1)
    # grey 128 sits on a histogram bin edge: noise must not flip it from one bin to the other
    grey = flat((128, 128, 128), (64, 64))
    noisy = np.clip(grey + rng.integers(-3, 4, grey.shape), 0, 255).astype(np.uint8)
    sig = Signature.from_rgb
    assert sig(red).difference(sig(blue)) > config.scene_threshold
    assert sig(red).difference(sig(photo)) > config.scene_threshold
    assert sig(grey).difference(sig(noisy)) < config.duplicate_threshold
    assert sig(photo).difference(sig(photo)) == 0.0


# --- orientation, geometry, timing -----------------------------------------------------------

@pytest.mark.parametrize("ccw, clockwise, corner", [
    (-90, 90, "top-right"),  # a portrait phone clip
    (90, 270, "bottom-left"),
    (180, 180, "bottom-right"),
])
def test_rotation_metadata_gives_upright_moments(tmp_path, ccw, clockwise, corner):
    path = write_video(tmp_path / "rot.mp4", segments([("blue", 1)], SIZE, marker=True), rotation=ccw)
    info = probe_video(path)
    assert info.rotation == clockwise
    expected_size = SIZE[::-1] if clockwise in (90, 270) else SIZE
    assert (info.width, info.height) == expected_size
    image = sample(path)[0].image
    assert image.size == expected_size
    w, h = image.size
    probes = {"top-left": (5, 5), "top-right": (w - 6, 5), "bottom-left": (5, h - 6), "bottom-right": (w - 6, h - 6)}
    for name, xy in probes.items():
        white = min(image.getpixel(xy)) > 200
        assert white == (name == corner), f"marker expected at {corner}, pixel at {name} is {image.getpixel(xy)}"


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_variable_frame_rate_timestamps(tmp_path, ext):
    rng = np.random.default_rng(7)
    gaps = rng.uniform(0.01, 0.3, 120)
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    times = times[times < 10]
    cuts = [("red", 0.0), ("blue", 3.0), ("green", 7.0)]

    def frames():
        for t in times:
            kind = [k for k, start in cuts if t >= start][-1]
            yield float(t), flat(kind, SIZE)

    # Keyframes every 4 frames (at most 1.2 s apart), as a phone would write them: encoders do not
    # always put one at a cut, and cuts between keyframes are only seen at the next one.
    path = write_video(tmp_path / f"vfr{ext}", frames(), options={"x264-params": "keyint=4:scenecut=0"})
    info = probe_video(path)
    assert abs(info.duration - times[-1]) < 0.5
    moments = sample(path)
    for kind, start in cuts:
        first_after = min((t for t in times if t >= start))  # the cut happens on a real frame
        near = [m for m in moments if abs(m.timestamp - first_after) <= 1.0]
        assert near and looks_like(near[0].image, kind, 0), (kind, [m.timestamp for m in moments])


@pytest.mark.parametrize("size, pix_fmt", [((318, 178), "yuv420p"), ((321, 241), "yuv444p")])
def test_unusual_frame_sizes(tmp_path, size, pix_fmt):
    parts = [("red", 2.5), ("blue", 2.5)]
    path = write_video(tmp_path / "odd.mp4", segments(parts, size), pix_fmt=pix_fmt)
    info = probe_video(path)
    assert (info.width, info.height) == size
    moments = sample(path)
    assert all(m.image.size == size for m in moments)
    assert looks_like(moments[0].image, "red", 0) and looks_like(moments[-1].image, "blue", 1)


def test_anamorphic_pixels_are_made_square(tmp_path):
    path = write_video(tmp_path / "anamorphic.mp4", segments([("red", 1)], (240, 240)),
                       sample_aspect=Fraction(4, 3))
    info = probe_video(path)
    assert (info.width, info.height) == (320, 240)
    assert sample(path)[0].image.size == (320, 240)


def test_large_frames_are_reduced_for_the_moment_image(tmp_path):
    path = write_video(tmp_path / "big.mp4", segments([("red", 1)], (640, 360)))
    image = sample(path, SamplerConfig(max_image_side=256))[0].image
    assert image.size == (256, 144)


def test_probe_reports_stream_facts_and_taken_at(tmp_path):
    taken = datetime(2021, 6, 1, 10, 20, 30, tzinfo=timezone.utc)
    path = write_video(tmp_path / "clip.mov", segments([("red", 2), ("blue", 1)], SIZE), creation_time=taken)
    info = probe_video(path)
    assert abs(info.duration - 3.0) < 0.1
    assert (info.width, info.height, info.rotation, info.codec) == (320, 240, 0, "h264")
    assert info.fps == pytest.approx(25, abs=0.5)
    assert info.taken_at == taken.astimezone().replace(tzinfo=None)  # naive local time, like EXIF
    plain = write_video(tmp_path / "plain.mp4", segments([("red", 1)], SIZE))
    assert probe_video(plain).taken_at is None


def test_on_info_matches_probe(scenes_mp4):
    seen = []
    moments = sample(scenes_mp4, on_info=seen.append)
    assert moments and seen == [probe_video(scenes_mp4)]


def test_audio_track_does_not_disturb_sampling(tmp_path):
    path = write_video(tmp_path / "with_audio.mp4", segments(SCENES, SIZE), audio=True, keyint=GOP)
    assert_scene_moments(sample(path), SCENES)


# --- progress, cancellation, streaming -------------------------------------------------------

def test_progress_increases_to_the_duration(scenes_mp4):
    calls: list[tuple[float, float]] = []
    sample(scenes_mp4, on_progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert len(calls) >= 5 and done == sorted(done) and len(set(done)) == len(done)
    assert calls[-1][0] == calls[-1][1] == pytest.approx(12.0, abs=0.1)
    assert all(0 <= d <= t for d, t in calls)


def test_cancel_stops_early_without_error(tmp_path):
    parts = [(kind, 2) for kind in ("red", "blue", "green", "photo", "white", "black")] * 2
    path = write_video(tmp_path / "many.mp4", segments(parts, (160, 120)), keyint=GOP)
    full = sample(path)
    cancel = threading.Event()
    calls = []
    got = []
    for moment in KeyframeSampler().moments(path, on_progress=lambda d, t: calls.append(d), cancel=cancel):
        got.append(moment)
        if len(got) == 2:
            cancel.set()
    assert len(full) > 4 and len(got) == 2
    assert not calls or calls[-1] < 24 - 1  # no final "done" report after a cancel
    cancel_before = threading.Event()
    cancel_before.set()
    assert sample(path, cancel=cancel_before) == []


def test_moments_are_streamed_not_collected(tmp_path):
    parts = [(kind, 3) for kind in ("red", "blue", "green", "photo", "white", "black")] * 3
    path = write_video(tmp_path / "long.mkv", segments(parts, (64, 48), fps=10), keyint=10)
    done = [0.0]
    moments = KeyframeSampler().moments(path, on_progress=lambda d, t: done.__setitem__(0, d))
    next(moments)
    next(moments)
    assert done[0] < 10, "the second moment should arrive long before the 54 s file is read"
    assert len(list(moments)) >= 10


# --- damaged and wrong input -----------------------------------------------------------------

def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError) as err:
        probe_video(path)
    assert err.value.reason == "empty file"
    with pytest.raises(VideoError, match="empty file"):
        sample(path)


def test_audio_only_mp4(tmp_path):
    path = write_audio_only(tmp_path / "voice.mp4")
    with pytest.raises(VideoError) as err:
        sample(path)
    assert err.value.reason.startswith("no video stream")
    assert "audio only" in err.value.reason


@pytest.mark.parametrize("name, content", [
    ("random.mkv", np.random.default_rng(1).bytes(200_000)),
    ("notes.avi", b"just some text, not a video\n" * 100),
])
def test_not_a_video(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VideoError):
        probe_video(path)
    with pytest.raises(VideoError):
        sample(path)


def test_photo_named_like_a_video(tmp_path):
    path = save_jpeg(tmp_path / "photo.mp4", scene("gradient"))
    with pytest.raises(VideoError) as err:
        sample(path)
    assert "not a video" in err.value.reason


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe_video(tmp_path / "gone.mp4")
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    with pytest.raises(VideoError, match="not a regular file"):
        probe_video(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(VideoError, match="not a regular file"):
        sample(fifo)


def test_truncated_mp4_without_index_is_an_error(scenes_mp4, tmp_path):
    # The default mp4 layout writes the index (moov) last: the first half has none.
    cut = truncated_copy(scenes_mp4, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(VideoError) as err:
        sample(cut)
    assert "truncated" in err.value.reason


@pytest.mark.parametrize("ext, faststart", [(".mp4", True), (".mkv", False)])
def test_truncated_video_keeps_the_moments_before_the_cut(tmp_path, caplog, ext, faststart):
    whole = write_video(tmp_path / f"whole{ext}", segments(SCENES, SIZE), faststart=faststart, keyint=GOP)
    cut = truncated_copy(whole, tmp_path / f"cut{ext}", 0.6)
    info = probe_video(cut)
    assert 4 < info.duration < 11, info.duration  # what is really there, not the stated 12 s
    with caplog.at_level(logging.WARNING, logger="indexer.video"):
        moments = sample(cut)
    assert_scene_moments(moments, SCENES[:2])
    assert all(m.timestamp <= info.duration for m in moments)
    assert any("cut short" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("ext", [".mkv", ".mp4"])
def test_video_still_being_recorded(tmp_path, ext):
    """Copy the file while the muxer is still writing it, as a scan can catch a camera app."""
    path, snapshot = tmp_path / f"recording{ext}", tmp_path / f"snapshot{ext}"
    parts = [("photo", 4), ("red", 4), ("blue", 4)]

    def frames():
        for t, frame in segments(parts, SIZE):
            if t == 10.0:
                shutil.copyfile(path, snapshot)
            yield t, frame

    write_video(path, frames(), keyint=GOP, muxer_options={"flush_packets": "1"})
    assert snapshot.stat().st_size > 50_000
    if ext == ".mp4":  # no index yet: nothing can be read
        with pytest.raises(VideoError, match="truncated"):
            sample(snapshot)
    else:  # Matroska is readable up to the last cluster written
        assert_scene_moments(sample(snapshot), parts[:2])


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_container_stating_a_longer_duration(tmp_path, ext):
    path = write_video(tmp_path / f"liar{ext}", segments(SCENES, SIZE), keyint=GOP)
    (lie_about_mp4_duration if ext == ".mp4" else lie_about_mkv_duration)(path, 5)
    assert probe_video(path).duration == pytest.approx(12.0, abs=0.3)
    calls = []
    moments = sample(path, on_progress=lambda d, t: calls.append((d, t)))
    assert_scene_moments(moments, SCENES)
    assert calls[-1] == pytest.approx((12.0, 12.0), abs=0.3)


@pytest.mark.parametrize("ext", [".mkv", ".mp4"])
def test_corrupt_stretch_still_gives_moments_on_both_sides(tmp_path, ext):
    import av

    parts = [("photo", 2), ("red", 2), ("blue", 2), ("green", 2), ("stripes", 2), ("gradient", 2)]
    path = write_video(tmp_path / f"scenes{ext}", segments(parts, SIZE), keyint=GOP)
    with av.open(str(path)) as container:  # where the blue keyframe and what follows it are stored
        stream = container.streams.video[0]
        spots = [(p.pos, p.size) for p in container.demux(stream)
                 if p.pts is not None and 4 <= p.pts * stream.time_base < 5.5]
    data = bytearray(path.read_bytes())
    noise = np.random.default_rng(3)
    for pos, size in spots:
        data[pos:pos + size] = noise.bytes(size)
    path.write_bytes(bytes(data))
    moments = sample(path)
    assert moments[0].timestamp == 0.0 and looks_like(moments[0].image, "photo", 0)
    for index, (kind, _) in enumerate(parts[3:], start=3):
        start = 2.0 * index
        assert any(start <= m.timestamp <= start + 1 and looks_like(m.image, kind, index) for m in moments), \
            (kind, [m.timestamp for m in moments])


# --- thumbnails ------------------------------------------------------------------------------

def test_save_thumbnail(tmp_path, scenes_mp4):
    image = sample(scenes_mp4, SamplerConfig(max_image_side=1024))[0].image
    target = tmp_path / "cache" / "ab" / "clip-0.jpg"
    save_thumbnail(image, target, size=128)
    with Image.open(target) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (128, 96)
        assert np.abs(centre(thumb.convert("RGB")) - np.array(COLOURS["red"])).max() < 25
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip-0.jpg"]  # no temporary left
    save_thumbnail(Image.new("RGBA", (600, 300), (0, 0, 255, 128)), target)
    with Image.open(target) as thumb:
        assert thumb.size == (256, 128) and thumb.mode == "RGB"


# --- other codecs and containers -------------------------------------------------------------

@pytest.mark.parametrize("name, codec, kwargs", [
    ("camcorder.mts", "libx264", {"format": "mpegts"}),  # AVCHD: timestamps do not start at 0
    ("iphone.mov", "libx265", {}),  # HEVC, open GOPs (CRA keyframes)
    ("clip.webm", "libvpx-vp9", {"options": {"deadline": "realtime", "cpu-used": "8"}}),
    ("old.avi", "mpeg4", {}),
])
def test_other_codecs_and_containers(tmp_path, name, codec, kwargs):
    path = write_video(tmp_path / name, segments(SCENES, SIZE), codec=codec, keyint=GOP, **kwargs)
    info = probe_video(path)
    assert info.duration == pytest.approx(12.0, abs=0.2)
    assert_scene_moments(sample(path), SCENES)


def test_hevc_with_few_keyframes_keeps_its_first_frame(tmp_path):
    """HEVC decoders fed keyframes with gaps between them can return pictures out of order."""
    path = write_video(tmp_path / "hevc.mp4", segments(SCENES, SIZE), codec="libx265",
                       options={"x265-params": "log-level=none:scenecut=0"})
    moments = sample(path)
    assert moments[0].timestamp == 0.0 and looks_like(moments[0].image, "red", 0)
    assert [m.timestamp for m in moments] == sorted(m.timestamp for m in moments)
