"""The search's grouping of matrix rows into files (``app.library._group_hits``), against the plain loop it
replaced: same files in the same order, same rows per file, the same cut at ``min_score``."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.library import _group_hits


def reference(media_ids, scores, timestamps, min_score):
    grouped: dict[int, list] = {}
    order: list[int] = []
    for media_id, score, ts in zip(media_ids.tolist(), scores.tolist(), timestamps.tolist()):
        if min_score is not None and score < min_score:
            break
        if media_id not in grouped:
            grouped[media_id] = []
            order.append(media_id)
        grouped[media_id].append((score, None if math.isnan(ts) else ts))
    return order, [grouped[m] for m in order]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_score", [None, 0.0, 0.25])
def test_matches_the_plain_loop(seed, min_score):
    rng = np.random.default_rng(seed)
    n = 400
    # photos (one row, no timestamp) and videos (several rows with timestamps), interleaved by score
    media_ids = rng.integers(1, 150, n).astype(np.int64)
    is_video = media_ids % 3 == 0
    timestamps = np.where(is_video, rng.uniform(0, 60, n), np.nan).astype(np.float32)
    photo_seen: set[int] = set()
    keep = np.ones(n, bool)
    for i, (m, video) in enumerate(zip(media_ids.tolist(), is_video.tolist())):
        if not video:
            keep[i] = m not in photo_seen
            photo_seen.add(m)
    media_ids, timestamps = media_ids[keep], timestamps[keep]
    scores = np.sort(rng.uniform(-0.2, 0.6, len(media_ids)).astype(np.float32))[::-1].copy()
    want_order, want_rows = reference(media_ids, scores, timestamps, min_score)
    assert any(len(r) > 1 for r in want_rows), "the data has videos with several moments"

    found, order, rows = _group_hits(media_ids, scores, timestamps, min_score=min_score, keep=len(media_ids))
    assert (found, order, rows) == (len(want_order), want_order, want_rows)

    found, order, rows = _group_hits(media_ids, scores, timestamps, min_score=min_score, keep=10)
    assert found == len(want_order)
    assert (order, rows) == (want_order[:10], want_rows[:10])


def test_nothing_to_group():
    empty = np.empty(0, np.int64)
    assert _group_hits(empty, np.empty(0, np.float32), np.empty(0, np.float32), min_score=0.1, keep=5) == (0, [], [])
    scores = np.array([0.05, 0.01], np.float32)
    assert _group_hits(np.array([1, 2]), scores, np.full(2, np.nan, np.float32), min_score=0.1, keep=5) == (0, [], [])
