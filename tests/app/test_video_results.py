"""A video result's moments (issue 10): the other matching moments, best first, never the best one
again and never a score at or below 0 or below min_score, in the library and in --json."""
from __future__ import annotations

import numpy as np
from sqlalchemy import select

from app.library import SearchFilters
from db import Embedding
from tests.videogen import segments, write_video

SIZE = (160, 120)


def moment_vectors(library) -> dict[float, np.ndarray]:
    with library.db.session() as session:
        rows = session.execute(select(Embedding.timestamp, Embedding.vector)
                               .where(Embedding.timestamp.is_not(None))).all()
    return {ts: np.frombuffer(v, "<f4") for ts, v in rows}


def check(result, min_score=None) -> None:
    data = result.to_json()
    stamps = [m["timestamp"] for m in data["moments"]]
    scores = [m["score"] for m in data["moments"]]
    assert data["timestamp"] not in stamps
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    if min_score is not None:
        assert all(s >= min_score for s in scores)
    assert result.moments[0].timestamp == result.timestamp  # the window's strip still has the best one


def test_moments_never_repeat_the_best_nor_show_non_matches(library, tmp_path):
    parts = [("checker", 2), ("bars", 2), ("rings", 2), ("stripes", 2), ("photo", 2), ("gradient", 2)]
    write_video(tmp_path / "media" / "clip.mp4", segments(parts, SIZE), keyint=250)
    library.index([tmp_path / "media"])
    vectors = moment_vectors(library)
    assert len(vectors) >= 5
    _, matrix = library._serving()
    for ts, vector in vectors.items():
        # Pointing at one moment, and away from it: the second query makes most moments score < 0,
        # yet the video is still returned (best first) with no negative "other" moment.
        for query in (vector, -vector):
            (result,) = library._rank(matrix, query[None], SearchFilters())
            check(result)
            if query is vector:
                assert abs(result.timestamp - ts) < 1e-4
        cut = float(np.sort([float(v @ vector) for v in vectors.values()])[-2])  # the second best
        (result,) = library._rank(matrix, vector[None], SearchFilters(min_score=cut))
        check(result, min_score=cut)
        assert len(result.to_json()["moments"]) <= 1
