"""End to end: videos and photos in one library, found at the right moment."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import run_cli
from tests.media import save_jpeg, scene
from tests.videogen import scene_array, segments, truncated_copy, write_audio_only, write_video

SIZE = (320, 240)


def assert_moments_contract(results: list[dict], min_score: float | None = None) -> None:
    """`moments` holds the other matching moments, best first: never the best again, never a
    score at or below 0 (or below --min-score) presented as a match."""
    for r in results:
        stamps = [m["timestamp"] for m in r["moments"]]
        scores = [m["score"] for m in r["moments"]]
        assert r["timestamp"] not in stamps, r
        assert all(s > 0 for s in scores) and scores == sorted(scores, reverse=True), r
        assert all(s <= r["score"] for s in scores), r
        if min_score is not None:
            assert all(s >= min_score for s in scores), r
        if r["kind"] == "photo":
            assert r["moments"] == [] and r["timestamp"] is None


def still(path: Path, kind: str, seed: int) -> Path:
    Image.fromarray(scene_array(kind, SIZE, seed=seed)).save(path, quality=95)
    return path


def search(home: Path, *args) -> list[dict]:
    return json.loads(run_cli(home, *args, "--json", check=True).stdout)


def test_mixed_folder_indexes_in_one_run_and_finds_the_moment(home, tmp_path):
    media = tmp_path / "media"
    # red 0-4 s, blue 4-8 s, a photo-like scene 8-12 s
    clip = write_video(media / "party.mp4", segments([("red", 4), ("blue", 4), ("photo", 4)], size=SIZE), keyint=50)
    # portrait phone clip: rotation metadata, stripes then checker
    portrait = write_video(media / "phone.mov", segments([("stripes", 6), ("checker", 6)], size=SIZE),
                           rotation=-90, keyint=25)
    # variable frame rate: irregular timestamps
    vfr_frames = [(t, frame) for t, frame in segments([("gradient", 5), ("noise", 5)], size=SIZE, fps=30)
                  if int(t * 30) % 3 != 1]
    vfr = write_video(media / "vfr.mkv", vfr_frames, fps=30, keyint=30)
    photo = save_jpeg(media / "photo.jpg", scene("checker", size=(640, 480), seed=3))
    # broken ones
    truncated = truncated_copy(clip, media / "cut.mp4", 0.3)
    (media / "empty.mov").write_bytes(b"")
    audio = write_audio_only(media / "song.mp4")
    (media / "junk.mkv").write_bytes(np.random.default_rng(0).bytes(50_000))

    out = run_cli(home, "index", media, check=True).stdout
    assert "video moments" in out

    probes = tmp_path / "probes"
    probes.mkdir()
    # the blue scene of the party clip: found at 4-8 s (±1 s)
    results = search(home, "similar", still(probes / "blue.jpg", "blue", 1), "--type", "video")
    party = next(r for r in results if r["path"] == str(clip))
    assert results[0]["path"] == str(clip)
    assert 3.0 <= party["timestamp"] <= 9.0
    assert party["kind"] == "video"
    assert_moments_contract(results)
    red = search(home, "similar", still(probes / "red.jpg", "red", 0), "--type", "video")
    assert red[0]["path"] == str(clip) and red[0]["timestamp"] <= 1.0
    photo_scene = search(home, "similar", still(probes / "photo.jpg", "photo", 2), "--type", "video")
    assert photo_scene[0]["path"] == str(clip) and 7.0 <= photo_scene[0]["timestamp"] <= 9.0

    # a photo query ranks photos and videos together; --type filters
    mixed = search(home, "similar", still(probes / "checker.jpg", "checker", 3), "--limit", "20")
    kinds = {r["kind"] for r in mixed}
    assert kinds == {"photo", "video"}
    assert {r["kind"] for r in search(home, "search", "a party", "--type", "photo")} == {"photo"}

    # the rotated clip's moments are stored upright: its thumbnails are portrait
    status = json.loads(run_cli(home, "status", "--json", check=True).stdout)
    assert status["videos"] >= 3

    # broken videos are recorded with a reason, the rest is searchable
    reasons = {f["path"]: f["reason"] for f in status["failed"]}
    assert str(media / "empty.mov") in reasons and "empty" in reasons[str(media / "empty.mov")]
    assert str(audio) in reasons and "no video" in reasons[str(audio)]
    assert str(media / "junk.mkv") in reasons
    assert str(photo) not in reasons and str(vfr) not in reasons and str(portrait) not in reasons
    # the truncated copy either gave the moments before the damage or was reported: never a crash
    assert str(truncated) in reasons or any(r["path"] == str(truncated) for r in search(home, "search", "x", "--limit", "50"))

    # plain text shows the moment
    line = run_cli(home, "similar", probes / "blue.jpg", "--type", "video", "--limit", "1", check=True).stdout.strip()
    assert line.startswith(f"{clip}  @ 0:0")


def test_video_as_similar_query_and_thumbnails(home, tmp_path):
    media = tmp_path / "media"
    clip = write_video(media / "a.mp4", segments([("red", 3), ("checker", 3)], size=SIZE), keyint=25)
    save_jpeg(media / "checker.jpg", scene("checker", size=SIZE, seed=1))
    save_jpeg(media / "noise.jpg", scene("noise", size=SIZE, seed=2))
    run_cli(home, "index", media, check=True)
    query = tmp_path / "copy.mp4"
    shutil.copy(clip, query)
    results = search(home, "similar", query, "--limit", "3")
    assert results[0]["path"] == str(clip) and results[0]["score"] > 0.99
    thumbs = list((home / "cache" / "thumbnails" / "moments").rglob("*.jpg"))
    assert len(thumbs) >= 2
    assert all(Image.open(t).size[0] <= 256 for t in thumbs)


def test_portrait_video_moments_are_upright(home, tmp_path):
    media = tmp_path / "media"
    write_video(media / "phone.mp4", segments([("stripes", 3)], size=SIZE), rotation=-90, keyint=25)
    run_cli(home, "index", media, check=True)
    (thumb,) = list((home / "cache" / "thumbnails" / "moments").rglob("*.jpg"))
    w, h = Image.open(thumb).size
    assert h > w


def test_scenes_between_sparse_keyframes_are_found_at_their_time(home, tmp_path):
    """Keyframes 10 s apart and none at cuts, a new scene every 3 s, each fading in from black:
    a still of each scene finds the clip at a time inside that scene, never on a black frame."""
    media = tmp_path / "media"
    kinds = ["checker", "bars", "rings", "stripes", "photo", "gradient"]
    parts = [(kind, 3) for kind in kinds]
    clip = write_video(media / "camera.mp4", segments(parts, size=SIZE, fade=0.5), keyint=250)
    save_jpeg(media / "other.jpg", scene("noise", size=SIZE, seed=9))
    run_cli(home, "index", media, check=True)
    probes = tmp_path / "probes"
    probes.mkdir()
    found = {}
    for index, kind in enumerate(kinds):
        results = search(home, "similar", still(probes / f"{kind}.jpg", kind, index), "--type", "video")
        assert_moments_contract(results)
        (video,) = results
        assert video["path"] == str(clip)
        found[kind] = 3 * index <= video["timestamp"] < 3 * index + 3
    assert all(found.values()), found
    # the grid's thumbnail for the clip is its first moment: a picture, not the black fade-in
    first = sorted((home / "cache" / "thumbnails" / "moments").rglob("*.jpg"), key=lambda p: int(p.stem))[0]
    assert int(first.stem) >= 400 and np.asarray(Image.open(first).convert("L")).mean() > 40
    # a cut-off: the other moments shown are all at or above it, in JSON and in text
    cut = search(home, "similar", probes / "rings.jpg", "--min-score", "0.5")
    assert_moments_contract(cut, min_score=0.5)
    line = run_cli(home, "similar", probes / "rings.jpg", "--min-score", "0.5", check=True).stdout.strip()
    best = f"@ {int(cut[0]['timestamp']) // 60}:{int(cut[0]['timestamp']) % 60:02d}"
    assert line.startswith(f"{clip}  {best}") and line.count(best) == 1, line
