"""SearchMatrix: ranking against exact float32, incremental refresh across processes, filters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from db import Database, SearchMatrix

DIM = 64


def _normalised(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Library:
    """Writes rows the way the indexer will, through its own Database (a stand-in for another process)."""

    def __init__(self, path: Path) -> None:
        self.db = Database.open(path)
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO roots (path, added_at) VALUES (?, 0)", (b"/lib",))
            self.root_id = conn.exec_driver_sql("SELECT id FROM roots").scalar_one()
        self.models: dict[int, int] = {}

    def model(self, dim: int = DIM) -> int:
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO models (name, embed_dim, created_at) VALUES (?, ?, 0)", (f"model{len(self.models)}", dim)
            )
            model_id = conn.exec_driver_sql("SELECT max(id) FROM models").scalar_one()
        self.models[model_id] = dim
        return model_id

    def add(
        self,
        model_id: int,
        vectors: np.ndarray,
        *,
        kinds: Sequence[str] | None = None,
        dates: Sequence[float] | None = None,
        timestamps: Sequence[float | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One media row per vector; returns (media ids, embedding ids)."""
        n = len(vectors)
        kinds = kinds or ["photo"] * n
        dates = dates if dates is not None else [0.0] * n
        timestamps = timestamps or [None if k == "photo" else 1.0 for k in kinds]
        with self.db.engine.begin() as conn:
            start = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM media").scalar_one() + 1
            media_ids = np.arange(start, start + n)
            raw = conn.connection.driver_connection
            raw.executemany(
                "INSERT INTO media (id, root_id, path, kind, size, mtime_ns, status, date) VALUES (?, ?, ?, ?, 1, 1, 'indexed', ?)",
                [(int(m), self.root_id, f"/lib/{m}".encode(), k, float(d)) for m, k, d in zip(media_ids, kinds, dates)],
            )
            first = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM embeddings").scalar_one()
            raw.executemany(
                "INSERT INTO embeddings (media_id, model_id, timestamp, vector) VALUES (?, ?, ?, ?)",
                [(int(m), model_id, t, v.astype("<f4").tobytes()) for m, t, v in zip(media_ids, timestamps, vectors)],
            )
            ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM embeddings WHERE id > ? ORDER BY id", (first,))]
        return media_ids, np.array(ids)

    def execute(self, sql: str, params: tuple = ()) -> None:
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(sql, params)


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    library = Library(tmp_path / "library.db")
    yield library
    library.db.close()


@pytest.fixture
def reader(tmp_path: Path, lib: Library) -> Iterator[Database]:
    """The searching side: a second Database object on the same file."""
    db = Database.open(tmp_path / "library.db")
    yield db
    db.close()


def _planted(rng: np.random.Generator, query: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Unit vectors whose cosine with ``query`` is exactly ``sims``."""
    noise = rng.standard_normal((len(sims), len(query))).astype(np.float32)
    noise -= np.outer(noise @ query, query)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    out = sims[:, None] * query[None, :] + np.sqrt(1 - sims**2)[:, None] * noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)



def loaded_matrix(reader: Database, model: int) -> SearchMatrix:
    """A search matrix for ``model`` as a reading process sees it after its first refresh."""
    matrix = SearchMatrix(reader, model, DIM)
    matrix.refresh()
    return matrix

def test_ranking_matches_exact_float32_when_scores_are_distinct(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(1)
    dim = 512
    model = lib.model(dim)
    query = _normalised(rng, 1, dim)[0]
    sims = np.linspace(0.95, 0.05, 300).astype(np.float32)  # neighbours 0.003 apart
    vectors = _planted(rng, query, sims)
    order = rng.permutation(len(vectors))
    _, ids = lib.add(model, vectors[order])
    matrix = SearchMatrix(reader, model, dim)
    assert matrix.refresh() == 300

    hits = matrix.search(query, 25)
    exact = np.argsort(-(vectors[order] @ query), kind="stable")[:25]
    assert hits.embedding_ids.tolist() == ids[exact].tolist()
    np.testing.assert_allclose(hits.scores, sims[:25], atol=2e-3)
    assert hits.scores.dtype == np.float32
    assert hits.rows.tolist() == exact.tolist()


def test_random_vectors_agree_with_brute_force(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(2)
    model = lib.model()
    vectors = _normalised(rng, 2000)
    _, ids = lib.add(model, vectors)
    matrix = loaded_matrix(reader, model)
    overlaps = []
    for query in _normalised(rng, 10):
        hits = matrix.search(query, 10)
        exact = vectors @ query
        top = np.argsort(-exact)[:10]
        overlaps.append(len(set(hits.embedding_ids) & set(ids[top])))
        np.testing.assert_allclose(hits.scores, exact[np.searchsorted(ids, hits.embedding_ids)], atol=3e-3)
        assert np.all(np.diff(hits.scores) <= 0)
    # int8 rows move scores by ~1e-3; only near-ties may swap at the edge of the top 10.
    assert np.mean(overlaps) >= 9.5


def test_k_larger_than_the_matrix_returns_everything_sorted(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(3)
    model = lib.model()
    vectors = _normalised(rng, 7)
    _, ids = lib.add(model, vectors)
    matrix = loaded_matrix(reader, model)
    hits = matrix.search(vectors[0], 100)
    assert len(hits) == 7
    assert sorted(hits.embedding_ids.tolist()) == ids.tolist()
    assert hits.embedding_ids[0] == ids[0]
    assert np.all(np.diff(hits.scores) <= 0)


def test_empty_matrix_returns_empty_hits(lib: Library, reader: Database) -> None:
    model = lib.model()
    matrix = SearchMatrix(reader, model, DIM)
    query = _normalised(np.random.default_rng(4), 1)[0]
    assert len(matrix.search(query, 10)) == 0  # before any refresh
    assert matrix.refresh() == 0
    hits = matrix.search(query, 10, mask=matrix.mask_for(kind="photo"))
    assert len(matrix) == 0
    assert len(hits) == 0
    assert hits.scores.dtype == np.float32 and hits.media_ids.dtype == np.int64


def test_refresh_picks_up_inserts_from_another_database(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(5)
    model = lib.model()
    first = _normalised(rng, 50)
    lib.add(model, first)
    matrix = SearchMatrix(reader, model, DIM)
    assert matrix.refresh() == 50
    assert matrix.refresh() == 0  # nothing changed

    later = _normalised(rng, 30)
    media_ids, ids = lib.add(model, later, kinds=["video"] * 30, timestamps=[float(i) for i in range(30)])
    assert matrix.refresh() == 30
    assert len(matrix) == 80
    hits = matrix.search(later[7], 1)
    assert hits.embedding_ids.tolist() == [ids[7]]
    assert hits.media_ids.tolist() == [media_ids[7]]
    assert hits.timestamps.tolist() == [7.0]
    assert np.isnan(matrix.search(first[3], 1).timestamps[0])  # photos carry no timestamp


def test_refresh_drops_rows_deleted_by_another_database(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(6)
    model = lib.model()
    vectors = _normalised(rng, 100)
    media_ids, ids = lib.add(model, vectors)
    matrix = loaded_matrix(reader, model)

    lib.execute("DELETE FROM embeddings WHERE id = ?", (int(ids[0]),))  # direct delete
    lib.execute("DELETE FROM media WHERE id = ?", (int(media_ids[1]),))  # cascade from media
    assert matrix.refresh() == 2
    assert len(matrix) == 98
    for gone in (0, 1):
        hits = matrix.search(vectors[gone], 100)
        assert ids[gone] not in hits.embedding_ids
        assert len(hits) == 98

    lib.execute("DELETE FROM roots")  # cascade roots -> media -> embeddings
    assert matrix.refresh() == 98
    assert len(matrix) == 0
    assert len(matrix.search(vectors[5], 10)) == 0


def test_delete_and_reinsert_between_refreshes(lib: Library, reader: Database) -> None:
    """A re-embedded file: old vector deleted, new one inserted, both seen by one refresh."""
    rng = np.random.default_rng(7)
    model = lib.model()
    vectors = _normalised(rng, 20)
    media_ids, ids = lib.add(model, vectors)
    matrix = loaded_matrix(reader, model)
    replacement = _normalised(rng, 1)
    lib.execute("DELETE FROM embeddings WHERE media_id = ?", (int(media_ids[4]),))
    lib.execute(
        "INSERT INTO embeddings (media_id, model_id, vector) VALUES (?, ?, ?)",
        (int(media_ids[4]), model, replacement[0].tobytes()),
    )
    assert matrix.refresh() == 2
    assert len(matrix) == 20
    hits = matrix.search(replacement[0], 1)
    assert hits.media_ids.tolist() == [media_ids[4]]
    assert hits.embedding_ids[0] > ids.max()
    assert ids[4] not in matrix.search(vectors[4], 20).embedding_ids


def test_compaction_keeps_results_exact(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(8)
    model = lib.model()
    sims = np.linspace(0.9, 0.1, 400).astype(np.float32)
    query = _normalised(rng, 1)[0]
    vectors = _planted(rng, query, sims)
    media_ids, ids = lib.add(model, vectors)
    matrix = loaded_matrix(reader, model)
    doomed = media_ids[::3]  # a third of the rows: enough to trigger compaction
    lib.execute(f"DELETE FROM media WHERE id IN ({','.join(map(str, doomed))})")
    assert matrix.refresh() == len(doomed)
    assert matrix.row_count == len(matrix) == 400 - len(doomed)
    keep = np.isin(media_ids, doomed, invert=True)
    hits = matrix.search(query, 30)
    assert hits.embedding_ids.tolist() == ids[keep][:30].tolist()
    assert hits.media_ids.tolist() == media_ids[keep][:30].tolist()
    assert matrix.mask_for(kind="photo").shape == (matrix.row_count,)


def test_other_models_are_ignored(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(9)
    ours, theirs = lib.model(), lib.model(32)
    _, our_ids = lib.add(ours, _normalised(rng, 10))
    lib.add(theirs, _normalised(rng, 10, 32))
    matrix = SearchMatrix(reader, ours, DIM)
    matrix.refresh()
    assert len(matrix) == 10
    lib.execute("DELETE FROM models WHERE id = ?", (theirs,))  # tombstones of another model
    assert matrix.refresh() == 0
    assert sorted(matrix.search(_normalised(rng, 1)[0], 20).embedding_ids.tolist()) == our_ids.tolist()


def test_masks_filter_by_kind_date_and_media(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(10)
    model = lib.model()
    n = 400
    vectors = _normalised(rng, n)
    kinds = ["video" if i % 4 == 0 else "photo" for i in range(n)]
    dates = [float(i) for i in range(n)]
    media_ids, ids = lib.add(model, vectors, kinds=kinds, dates=dates)
    matrix = loaded_matrix(reader, model)
    query = _normalised(rng, 1)[0]
    exact = vectors @ query
    is_video = np.array(kinds) == "video"
    date = np.array(dates)
    scope = media_ids[100:130]  # a small folder: the gathered-rows path

    cases = {
        "kind": (matrix.mask_for(kind="video"), is_video),
        "dates": (matrix.mask_for(after=50.0, before=250.0), (date >= 50) & (date < 250)),
        "after only": (matrix.mask_for(after=390.0), date >= 390),
        "media": (matrix.mask_for(media_ids=scope), np.isin(media_ids, scope)),
        "all": (matrix.mask_for(media_ids=scope, kind="photo", before=120.0), np.isin(media_ids, scope) & ~is_video & (date < 120)),
    }
    for name, (mask, expected) in cases.items():
        assert mask.tolist() == expected.tolist(), name
        hits = matrix.search(query, 10, mask=mask)
        assert set(hits.embedding_ids) <= set(ids[expected]), name
        best = ids[expected][np.argsort(-exact[expected])[:10]]
        assert len(set(hits.embedding_ids) & set(best)) >= min(9, expected.sum()), name
        assert len(hits) == min(10, expected.sum()), name

    assert matrix.mask_for() is None
    nothing = matrix.mask_for(after=1e9)
    assert len(matrix.search(query, 10, mask=nothing)) == 0
    with pytest.raises(ValueError):
        matrix.mask_for(kind="audio")


def test_a_stale_mask_is_rejected(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(11)
    model = lib.model()
    lib.add(model, _normalised(rng, 10))
    matrix = loaded_matrix(reader, model)
    mask = matrix.mask_for(kind="photo")
    lib.add(model, _normalised(rng, 5))
    matrix.refresh()
    with pytest.raises(ValueError, match="refresh"):
        matrix.search(_normalised(rng, 1)[0], 3, mask=mask)


def test_query_of_the_wrong_size_is_rejected(lib: Library, reader: Database) -> None:
    matrix = SearchMatrix(reader, lib.model(), DIM)
    with pytest.raises(ValueError):
        matrix.search(np.ones(DIM + 1, np.float32), 3)


def test_vectors_of_the_wrong_size_are_skipped(lib: Library, reader: Database) -> None:
    rng = np.random.default_rng(12)
    model = lib.model()
    media_ids, ids = lib.add(model, _normalised(rng, 3))
    lib.execute(
        "INSERT INTO embeddings (media_id, model_id, vector) VALUES (?, ?, ?)", (int(media_ids[0]), model, b"\0" * 12)
    )
    matrix = SearchMatrix(reader, model, DIM)
    assert matrix.refresh() == 3
    assert sorted(matrix.search(_normalised(rng, 1)[0], 10).embedding_ids.tolist()) == ids.tolist()


def test_bulk_load_in_chunks_and_memory_per_item(lib: Library, reader: Database) -> None:
    """More rows than one load chunk, at the production dimension: the 1.1 KB/item budget holds."""
    rng = np.random.default_rng(13)
    dim = 512
    model = lib.model(dim)
    n = 9000
    vectors = _normalised(rng, n, dim)
    _, ids = lib.add(model, vectors)
    matrix = SearchMatrix(reader, model, dim)
    assert matrix.refresh() == n
    assert matrix.nbytes / n <= 1100
    for probe in (0, 8191, 8192, n - 1):  # both sides of the chunk boundary
        assert matrix.search(vectors[probe], 1).embedding_ids.tolist() == [ids[probe]]
    # Growth by small increments keeps working and stays within budget once settled.
    for _ in range(3):
        lib.add(model, _normalised(rng, 100, dim))
        assert matrix.refresh() == 100
    assert len(matrix) == n + 300
    assert matrix.nbytes / len(matrix) <= 1100
