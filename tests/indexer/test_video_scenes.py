"""Every scene of 2 s or more becomes a moment inside it, whatever the keyframe interval (issue 10).

Clips are encoded with keyframes 10 s apart and no keyframes at cuts (x264 ``scenecut=0``), as
cameras, screen recorders and re-encoders write them, so most scenes have no keyframe of their own.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.video import KeyframeSampler, Moment, SamplerConfig, Signature
from tests.videogen import COLOURS, DISTINCT_SCENES, scene_array, segments, write_video

SIZE = (320, 240)
FPS = 25
LONG_GOP = 10 * FPS  # a keyframe every 10 s


def sample(path: Path, config: SamplerConfig = SamplerConfig()) -> list[Moment]:
    return list(KeyframeSampler(config).moments(path))


def shows(image: Image.Image, kind: str, index: int) -> bool:
    """Is the moment's picture scene ``kind`` at full brightness (not a fade)?"""
    got = np.asarray(image.convert("RGB").resize(SIZE), np.float32)
    expected = scene_array(kind, SIZE, seed=index).astype(np.float32)
    if kind == "noise":  # static noise survives encoding only on average
        return abs(got.mean() - expected.mean()) < 12 and got.std() > 40
    return float(np.abs(got - expected).mean()) < 25


def dark(image: Image.Image) -> bool:
    return float(np.asarray(image.convert("L"), np.float32).mean()) < 20


def found(moments: list[Moment], parts) -> list[tuple[str, float, bool]]:
    """For each scene: (kind, start, whether some moment inside it shows it)."""
    out, start = [], 0.0
    for index, (kind, seconds) in enumerate(parts):
        inside = [m for m in moments if start - 1e-3 <= m.timestamp < start + seconds]
        out.append((kind, start, any(shows(m.image, kind, index) for m in inside)))
        start += seconds
    return out


def test_every_scene_between_sparse_keyframes_is_a_moment(tmp_path):
    parts = [(kind, 3) for kind in DISTINCT_SCENES]  # a new scene every 3 s, keyframes at 0, 10, 20 s
    path = write_video(tmp_path / "long-gop.mp4", segments(parts, SIZE, fps=FPS), keyint=LONG_GOP)
    moments = sample(path)
    missed = [(kind, start) for kind, start, ok in found(moments, parts) if not ok]
    assert not missed, (missed, [m.timestamp for m in moments])
    assert [m.timestamp for m in moments] == sorted(m.timestamp for m in moments)


def test_scene_after_a_short_one_and_keyframes_at_odd_places(tmp_path):
    """A 1.2 s scene may or may not be a moment; the 2 s scene right after it must be."""
    parts = [("checker", 4), ("red", 1.2), ("stripes", 2), ("bars", 3.8), ("blue", 5), ("rings", 4)]
    path = write_video(tmp_path / "odd.mkv", segments(parts, SIZE, fps=FPS), keyint=LONG_GOP)
    results = found(sample(path), parts)
    assert all(ok for kind, _, ok in results if kind != "red"), results


@pytest.mark.parametrize("keyint", [LONG_GOP, 2 * FPS], ids=["keyframes-10s", "keyframes-2s"])
def test_fades_from_black_never_give_a_dark_or_dimmed_moment(tmp_path, keyint):
    parts = [("black", 1.5)] + [(kind, 4) for kind in ("photo", "bars", "checker", "rings")]
    path = write_video(tmp_path / "fades.mp4", segments(parts, SIZE, fps=FPS, fade=1.0), keyint=keyint)
    moments = sample(path)
    assert moments and not any(dark(m.image) for m in moments), [m.timestamp for m in moments]
    assert moments[0].timestamp >= 1.5  # the black lead-in is never the first moment (the thumbnail)
    for m in moments:  # none is caught half way through its fade
        start = 1.5 + 4 * int((m.timestamp - 1.5) // 4)
        assert m.timestamp - start >= 0.9 or not any(
            Signature.from_rgb(np.asarray(m.image.resize((64, 64)))).dimmed_version_of(
                Signature.from_rgb(scene_array(kind, (64, 64), seed=i))) for i, (kind, _) in enumerate(parts)), m.timestamp
    if keyint == LONG_GOP:  # with probes between keyframes every scene is found at full brightness
        missed = [(kind, start) for kind, start, ok in found(moments, parts)[1:] if not ok]
        assert not missed, (missed, [m.timestamp for m in moments])


def test_no_black_or_flat_grey_frame_is_a_moment(tmp_path):
    parts = [("black", 3), ("photo", 3), ("white", 3), ("grey", 3), ("stripes", 3), ("black", 3)]
    path = write_video(tmp_path / "blanks.mp4", segments(parts, SIZE, fps=FPS), keyint=LONG_GOP)
    moments = sample(path)
    kinds = [next(kind for i, (kind, _) in enumerate(parts) if shows(m.image, kind, i)) for m in moments]
    assert kinds == ["photo", "stripes"], [m.timestamp for m in moments]


def test_a_video_with_nothing_informative_still_gives_one_moment(tmp_path):
    path = write_video(tmp_path / "black.mp4", segments([("black", 2), ("grey", 3)], SIZE, fps=FPS), keyint=FPS)
    moments = sample(path)
    assert len(moments) == 1 and moments[0].trigger == "first"
    assert abs(np.asarray(moments[0].image, np.float32).mean() - COLOURS["grey"][0]) < 20  # the least empty


def test_signature_tells_empty_frames_and_fades():
    photo = scene_array("photo", (64, 64))
    assert Signature.from_rgb(photo).informative
    assert Signature.from_rgb(scene_array("red", (64, 64))).informative  # a flat colour is a picture
    for kind in ("black", "grey", "white"):
        assert not Signature.from_rgb(scene_array(kind, (64, 64))).informative, kind
    night = np.zeros((64, 64, 3), np.uint8)
    night[20:26, 10:50] = 230  # a bright title (or fireworks) on black
    assert Signature.from_rgb(night).informative
    assert not Signature.from_rgb(np.random.default_rng(0).integers(0, 12, (64, 64, 3), np.uint8)).informative
    half = Signature.from_rgb((photo * 0.5).astype(np.uint8))
    full = Signature.from_rgb(photo)
    assert half.dimmed_version_of(full) and not full.dimmed_version_of(half)
    assert not Signature.from_rgb(scene_array("checker", (64, 64))).dimmed_version_of(full)
