"""Duplicate groups on a generated library: exact copies, the same picture in other forms,
bursts, and other views of a scene, with the tiny real model and real decoding."""
from __future__ import annotations

import os

import numpy as np
import pytest
from sqlalchemy import select

from app.duplicate_maths import KeepFacts, UnionFind, choose_keep, near_pairs, ordered_match_fraction, quantize
from app.duplicates import find_duplicates, trash_suggested
from app.file_actions import FileActions
from db import Media
from tests.duplicates_media import SAME_COPIES, build_library


@pytest.fixture
def planted(library, tmp_path):
    photos = tmp_path / "photos"
    paths = build_library(photos)
    library.index([photos])
    return library, photos, {k: str(v) for k, v in paths.items()}


def _by_kind(report) -> dict[str, list[set[str]]]:
    out: dict[str, list[set[str]]] = {}
    for g in report.groups:
        out.setdefault(g.kind, []).append({f.path for f in g.files})
    return out


def test_planted_duplicates_are_grouped_by_kind(planted):
    library, photos, p = planted
    report = find_duplicates(library)
    groups = _by_kind(report)
    assert report.missing is None
    assert groups["exact"] == [{p["a"], p["a_copy"]}]
    same_members = {p["a_copy"], *(p[k] for k in SAME_COPIES)}
    assert groups["same"] == [same_members]
    assert groups["similar"] == [{p["b1"], p["b2"], p["b3"]}]

    exact = next(g for g in report.groups if g.kind == "exact")
    assert exact.kept.path == p["a_copy"] and exact.reason.startswith("oldest")
    same = next(g for g in report.groups if g.kind == "same")
    # largest, original format and metadata all tie between the copies at 800x600: the camera original wins
    assert same.kept.path == p["a_copy"] and same.reason == "more metadata (date taken, camera)"
    assert same.reclaimable == sum(os.path.getsize(x) for x in same_members - {p["a_copy"]})
    chosen = same.with_keep(p["a_png"])  # the user keeps another file: the rest is suggested
    assert chosen.kept.path == p["a_png"] and chosen.reason == "chosen"
    assert {f.path for f in chosen.suggested} == same_members - {p["a_png"]}
    similar = next(g for g in report.groups if g.kind == "similar")
    assert similar.suggested == () and similar.reclaimable == 0
    assert [g.kind for g in report.groups][-1] == "similar"  # largest reclaimable first
    assert report.reclaimable == exact.reclaimable + same.reclaimable

    # scoped and filtered
    only_copies = find_duplicates(library, folder=photos / "copies", kinds=["same"])
    assert _by_kind(only_copies) == {"same": [same_members]}
    assert _by_kind(find_duplicates(library, kinds=["exact"])) == {"exact": [{p["a"], p["a_copy"]}]}


def test_trash_suggested_and_undo(planted, xdg_trash):
    library, photos, p = planted
    report = find_duplicates(library, kinds=["exact", "same", "similar"])
    batch = trash_suggested(library, report.groups)
    trashed = {src for src, _ in batch.done}
    assert trashed == {p[k] for k in ("a", *SAME_COPIES)}
    assert not batch.failed
    assert all(not os.path.exists(x) for x in trashed)
    assert {x.name for x in (xdg_trash / "files").iterdir()} == {os.path.basename(x) for x in trashed}
    with library.db.session() as session:
        known = set(session.execute(select(Media.path)).scalars())
    assert not known & trashed
    assert find_duplicates(library, kinds=["exact", "same"]).groups == []

    FileActions(library).undo(batch)
    assert all(os.path.exists(x) for x in trashed)
    assert _by_kind(find_duplicates(library)) == _by_kind(report)


def test_no_vectors_still_finds_exact_copies(library, tmp_path):
    photos = tmp_path / "photos"
    paths = build_library(photos)
    library.add_roots([photos])
    from indexer.sync import LibrarySync

    LibrarySync(library.db).run([(r.id, r.path) for r in library.roots()])  # scanned, not embedded
    report = find_duplicates(library)
    assert _by_kind(report) == {"exact": [{str(paths["a"]), str(paths["a_copy"])}]}
    assert "only exact copies" in report.missing


def test_keep_rule_order():
    big = KeepFacts("/p/big.png", 4032, 3024, mtime=2e9)
    small = KeepFacts("/p/small.jpg", 1024, 768, mtime=1e9, taken_at=1e9, camera="Canon")
    assert choose_keep([small, big]) == (1, "largest (4032×3024)")
    jpg = KeepFacts("/p/x.jpg", 100, 100, mtime=2e9)
    webp = KeepFacts("/p/x.webp", 100, 100, mtime=1e9)
    assert choose_keep([webp, jpg]) == (1, "original format (JPG)")
    plain = KeepFacts("/p/a.jpg", 100, 100, mtime=1e9)
    rich = KeepFacts("/p/b.jpg", 100, 100, mtime=2e9, taken_at=1.0, camera="X")
    assert choose_keep([plain, rich]) == (1, "more metadata (date taken, camera)")
    old = KeepFacts("/p/z.jpg", 100, 100, mtime=1.5e9)
    assert choose_keep([old, plain]) == (1, "oldest (2001-09-09)")
    assert choose_keep([KeepFacts("/p/b", 1, 1, 1.0), KeepFacts("/p/a", 1, 1, 1.0)]) == (1, "first by name")
    long_video = KeepFacts("/v/a.mp4", 640, 360, 1.0, duration=60.0)
    hd_trim = KeepFacts("/v/b.mp4", 1920, 1080, 1.0, duration=30.0)
    assert choose_keep([hd_trim, long_video]) == (1, "longest (60 s)")


def test_near_pairs_blocks_and_union_find():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 64)).astype(np.float32)
    x[150] = x[10] + 0.05 * rng.standard_normal(64)
    x[299] = x[10] + 0.05 * rng.standard_normal(64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    codes, scales = quantize(x)
    for dims in (64, 24):  # full width, and the all-pairs pass on 24 principal axes (then rescored)
        i, j, s = near_pairs(codes, scales, 0.9, block=64, dims=dims)  # pairs across and inside blocks
        assert sorted(zip(i.tolist(), j.tolist())) == [(10, 150), (10, 299), (150, 299)]
        assert np.allclose(s, [x[a] @ x[b] for a, b in zip(i, j)], atol=5e-3)
    exact = x @ x.T
    want = {(a, b) for a, b in zip(*np.nonzero(exact >= 0.3)) if a < b}
    loose_i, loose_j, _ = near_pairs(codes, scales, 0.3, block=64, dims=16)  # never loses a pair
    assert set(zip(loose_i.tolist(), loose_j.tolist())) >= {(a, b) for a, b in want if exact[a, b] >= 0.31}
    uf = UnionFind()
    for a, b in zip(i.tolist(), j.tolist()):
        uf.union(a, b)
    uf.union(1, 2)
    assert sorted(map(sorted, uf.groups())) == [[1, 2], [10, 150, 299]]


def test_video_moments_match_in_order():
    short = np.array([0.0, 2.0, 4.0])
    assert ordered_match_fraction(short, [[10.0], [12.0], [14.0]]) == 1.0  # a trimmed copy
    assert ordered_match_fraction(short, [[14.0], [12.0], [10.0]]) == pytest.approx(1 / 3)  # reordered
    assert ordered_match_fraction(short, [[10.0, 30.0], [], [31.0]]) == pytest.approx(2 / 3)


def test_trash_reports_a_file_that_went_away(planted, xdg_trash):
    library, photos, p = planted
    report = find_duplicates(library, kinds=["same"])
    os.unlink(p["a_webp"])  # gone between the listing and the trash
    batch = trash_suggested(library, report.groups)
    assert batch.failed == [(p["a_webp"], f"cannot move {p['a_webp']} to the trash: it no longer exists")]
    assert {src for src, _ in batch.done} == {p[k] for k in SAME_COPIES if k != "a_webp"}
    assert batch.bytes_freed > 0


def test_unreadable_candidates_are_left_out(planted):
    library, photos, p = planted
    os.unlink(p["a_copy"])
    (photos / "copies" / "a_small.jpg").write_bytes(b"not a jpeg any more")
    report = find_duplicates(library)
    assert set(report.unreadable) >= {p["a_copy"], p["a_small"]}
    paths = {f.path for g in report.groups for f in g.files}
    assert p["a_copy"] not in paths and p["a_small"] not in paths
    assert {frozenset(f.path for f in g.files) for g in report.groups if g.kind == "same"} == {
        frozenset({p["a"], *(p[k] for k in SAME_COPIES if k != "a_small")})}


def test_videos_reencoded_or_trimmed_are_the_same(library, tmp_path):
    from tests.videogen import segments, write_video

    media = tmp_path / "videos"
    parts = [("stripes", 3), ("photo", 3), ("checker", 3), ("gradient", 3)]
    original = write_video(media / "trip.mp4", segments(parts), keyint=25)
    reencoded = write_video(media / "trip-small.mkv", segments(parts, size=(240, 180)), keyint=50,
                            options={"crf": "35"})
    trimmed = write_video(media / "trip-cut.mp4", segments(parts[1:]), keyint=25)
    other = write_video(media / "other.mp4", segments([("red", 4), ("noise", 4), ("blue", 4)]), keyint=25)
    library.index([media])
    report = find_duplicates(library)
    groups = [g for g in report.groups if g.files[0].kind == "video"]
    assert [(g.kind, {f.path for f in g.files}) for g in groups] == [
        ("same", {str(original), str(reencoded), str(trimmed)})]
    assert groups[0].kept.path == str(original) and groups[0].reason == "largest (320×240)"
    assert str(other) not in {f.path for g in report.groups for f in g.files}


def test_a_file_kept_by_one_group_is_never_trashed_by_another(planted, xdg_trash):
    library, photos, p = planted
    groups = find_duplicates(library, kinds=["exact", "same"]).groups
    exact = next(g for g in groups if g.kind == "exact")
    same = next(g for g in groups if g.kind == "same")
    assert exact.kept.path in {f.path for f in same.files}  # the two groups share a file
    other = next(f.path for f in same.files if f.path not in (same.kept.path, exact.kept.path))
    chosen = same.with_keep(other)  # the user keeps another one: the shared file is now "suggested" there
    batch = trash_suggested(library, [exact, chosen])
    trashed = {src for src, _ in batch.done}
    assert exact.kept.path not in trashed and other not in trashed
    assert trashed == {f.path for g in (exact, chosen) for f in g.suggested} - {exact.kept.path, other}
