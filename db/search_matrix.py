"""The in-memory matrix that text and image queries are scored against.

Loaded once from SQLite and then kept current by ``refresh()``, which reads only embeddings with an
id above the last one seen and tombstones with a seq above the last one seen (ids come from
AUTOINCREMENT and are never reused). A query never touches SQLite.

Storage, chosen by measurement (bench/bench_search.py --compare-kernels; 2-core Xeon with
AVX512-VNNI, numpy 2.4, onnxruntime 1.31):

* Each vector is stored as int8 with one float32 scale per row (``x ~= scale * code``), offset by
  128 into uint8: 516 bytes per 512-dim vector instead of 2048 for float32 (546 bytes per row with
  the metadata arrays). Scores stay within about 1e-3 of exact cosine; recall@10 against exact
  float32 is 0.98-0.99 on random vectors (whose top 10 are separated by less than that error) and
  1.0 on planted near-duplicates.
* Scoring runs onnxruntime's ``MatMulInteger`` with a uint8 matrix (zero point 128) and an int8
  query: u8 x s8 is the pairing MLAS computes with VNNI, 3-4x faster than s8 x s8 and faster than
  a float32 sgemv over four times the bytes. numpy has no integer or float16 BLAS path: casting
  chunks to float32 in numpy was 7-20x slower, and onnxruntime's float16 MatMul 3x slower.
* The top candidates of that approximate score are re-scored with the float32 query against the
  dequantised rows, which removes the query's quantisation error from ranking and from the scores
  returned.

Rows stay sorted by embedding id (they are appended in id order), so a tombstoned id is found by
binary search. Deleted rows are only marked dead; ``compact()`` (run by ``refresh()`` once an
eighth of the rows are dead) closes the gaps in place. Arrays grow by half their size at a time.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from db.engine import Database
from db.errors import translate_db_errors
from db.schema import MEDIA_KINDS

log = logging.getLogger(__name__)

_KIND_CODES = {kind: code for code, kind in enumerate(MEDIA_KINDS)}
_UNKNOWN_KIND = 255
_ZERO_POINT = 128
_LOAD_CHUNK = 8192
_TOMBSTONE_CHUNK = 65536
_COMPACT_CHUNK = 65536
_MIN_CAPACITY = 1024
_RESCORE_CHUNK = 16384
# Candidates re-scored exactly per query: max(_RERANK_FACTOR * k, _RERANK_MIN).
_RERANK_FACTOR = 4
_RERANK_MIN = 64
# A mask that keeps at most this fraction of rows is scored on the gathered rows only.
_SUBSET_FRACTION = 1 / 8

_LOAD_SQL = (
    "SELECT e.id, e.media_id, e.timestamp, m.kind, m.date, e.vector "
    "FROM embeddings AS e JOIN media AS m ON m.id = e.media_id "
    "WHERE e.model_id = ? AND e.id > ? ORDER BY e.id LIMIT ?"
)
_COUNT_SQL = "SELECT count(*) FROM embeddings WHERE model_id = ? AND id > ?"
_TOMBSTONE_SQL = "SELECT seq, embedding_id, model_id FROM embedding_tombstones WHERE seq > ? ORDER BY seq"
_MAX_SEQ_SQL = "SELECT coalesce(max(seq), 0) FROM embedding_tombstones"


@dataclass
class MatrixHits:
    """Top-k result, best first. ``rows`` index the matrix as it was when searched."""

    rows: np.ndarray
    scores: np.ndarray
    embedding_ids: np.ndarray
    media_ids: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def empty(cls) -> MatrixHits:
        return cls(
            rows=np.empty(0, np.int64),
            scores=np.empty(0, np.float32),
            embedding_ids=np.empty(0, np.int64),
            media_ids=np.empty(0, np.int64),
            timestamps=np.empty(0, np.float32),
        )


class SearchMatrix:
    """All vectors of one model, quantised in memory, with the per-row metadata filters need.

    Thread safety: ``refresh``, ``compact``, ``mask_for`` and ``search`` take ``self.lock``. A mask from ``mask_for`` describes the rows
    as they are at that moment; if another thread may call ``refresh()``, hold ``lock`` across
    ``mask_for`` and ``search``.
    """

    def __init__(self, db: Database, model_id: int, dim: int) -> None:
        self.db = db
        self.model_id = model_id
        self.dim = dim
        self.lock = threading.RLock()
        self._n = 0  # physical rows in use, dead ones included
        self._dead = 0
        self._last_id = 0
        self._last_seq: int | None = None  # None until the first refresh
        self._allocate(0)

    # ----------------------------------------------------------------- storage

    def _allocate(self, capacity: int) -> None:
        self._codes = np.zeros((capacity, self.dim), np.uint8)
        self._scales = np.zeros(capacity, np.float32)
        self._ids = np.zeros(capacity, np.int64)
        self._media = np.zeros(capacity, np.int64)
        self._times = np.zeros(capacity, np.float32)
        self._kinds = np.zeros(capacity, np.uint8)
        self._dates = np.zeros(capacity, np.float64)
        self._alive = np.zeros(capacity, np.bool_)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self._codes, self._scales, self._ids, self._media, self._times, self._kinds, self._dates, self._alive)

    def _reserve(self, rows: int, *, exact: bool = False) -> None:
        """Make room for ``rows`` physical rows; grows by at least half unless ``exact``."""
        capacity = len(self._scales)
        if rows <= capacity:
            return
        if not exact:
            rows = max(rows, capacity + capacity // 2, _MIN_CAPACITY)
        self._resize(rows)

    def _resize(self, capacity: int) -> None:
        old = self._arrays()
        self._allocate(capacity)
        n = self._n
        for new, prev in zip(self._arrays(), old):
            new[:n] = prev[:n]

    @property
    def nbytes(self) -> int:
        """Memory held by the matrix and its metadata arrays (allocated capacity, not just rows in use)."""
        return sum(a.nbytes for a in self._arrays())

    def __len__(self) -> int:
        """Number of searchable (live) vectors."""
        return self._n - self._dead

    @property
    def row_count(self) -> int:
        """Physical rows, dead ones included: the length a mask must have."""
        return self._n

    # ----------------------------------------------------------------- loading

    def refresh(self) -> int:
        """Load new embeddings and drop deleted ones; returns the number of rows added or removed.

        Both reads run in one read transaction, so they describe the same moment. When nothing
        changed this costs two indexed queries.
        """
        with self.lock, translate_db_errors(), self.db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            try:
                added = self._load_new(cursor)
                removed = self._load_tombstones(cursor)
            finally:
                cursor.close()
                raw.rollback()
            if self._dead and self._dead * 8 >= self._n:
                self.compact()
            if self._n:
                _int8_session()  # built here (once, ~35 ms) so that the first query does not pay for it
            if added or removed:
                log.debug("search matrix model=%d: +%d -%d, %d live", self.model_id, added, removed, len(self))
            return added + removed

    def _load_new(self, cursor: Any) -> int:
        added = 0
        while True:
            rows = cursor.execute(_LOAD_SQL, (self.model_id, self._last_id, _LOAD_CHUNK)).fetchall()
            if not rows:
                break
            if added == 0 and len(rows) == _LOAD_CHUNK:
                # A bulk load: size the arrays once instead of growing them chunk by chunk.
                remaining = cursor.execute(_COUNT_SQL, (self.model_id, self._last_id)).fetchone()[0]
                self._reserve(self._n + remaining, exact=self._n == 0)
            added += self._append(rows)
            self._last_id = rows[-1][0]
            if len(rows) < _LOAD_CHUNK:
                break
        return added

    def _append(self, rows: list[tuple[Any, ...]]) -> int:
        ids, media_ids, times, kinds, dates, vectors = zip(*rows)
        expected = self.dim * 4
        blob = b"".join(vectors)
        if len(blob) != expected * len(rows):
            good = [i for i, v in enumerate(vectors) if len(v) == expected]
            log.warning(
                "skipping %d embeddings of model %d whose size is not %d float32",
                len(rows) - len(good), self.model_id, self.dim,
            )
            pick = functools.partial(_pick, good)
            ids, media_ids, times, kinds, dates = map(pick, (ids, media_ids, times, kinds, dates))
            blob = b"".join(vectors[i] for i in good)
        count = len(ids)
        if count == 0:
            return 0
        start = self._n
        self._reserve(start + count)
        stop = start + count
        vecs = np.frombuffer(blob, dtype="<f4").reshape(count, self.dim)
        _quantize(vecs, self._codes[start:stop], self._scales[start:stop])
        self._ids[start:stop] = ids
        self._media[start:stop] = media_ids
        self._times[start:stop] = np.array(times, dtype=np.float32)  # None -> NaN
        self._kinds[start:stop] = [_KIND_CODES.get(kind, _UNKNOWN_KIND) for kind in kinds]
        self._dates[start:stop] = np.array(dates, dtype=np.float64)
        self._alive[start:stop] = True
        self._n = stop
        return count

    def _load_tombstones(self, cursor: Any) -> int:
        if self._last_seq is None:
            # Everything loaded in this snapshot is alive; older tombstones do not concern us.
            self._last_seq = int(cursor.execute(_MAX_SEQ_SQL).fetchone()[0])
            return 0
        cursor.execute(_TOMBSTONE_SQL, (self._last_seq,))
        removed = 0
        while batch := cursor.fetchmany(_TOMBSTONE_CHUNK):
            table = np.array(batch, dtype=np.int64)
            self._last_seq = int(table[-1, 0])
            removed += self._mark_dead(table[table[:, 2] == self.model_id, 1])
        return removed

    def _mark_dead(self, embedding_ids: np.ndarray) -> int:
        n = self._n
        if n == 0 or len(embedding_ids) == 0:
            return 0
        pos = np.searchsorted(self._ids[:n], embedding_ids)
        pos = pos[pos < n]
        pos = pos[np.isin(self._ids[pos], embedding_ids)]
        pos = np.unique(pos[self._alive[pos]])
        self._alive[pos] = False
        self._dead += len(pos)
        return len(pos)

    def compact(self) -> None:
        """Close the gaps left by deleted rows, in place and in chunks (no full-size temporary)."""
        with self.lock:
            n = self._n
            if self._dead == 0:
                return
            first = int(np.argmin(self._alive[:n]))  # rows before the first dead one stay put
            keep = first + np.flatnonzero(self._alive[first:n])
            write = first
            for begin in range(0, len(keep), _COMPACT_CHUNK):
                index = keep[begin:begin + _COMPACT_CHUNK]
                for array in self._arrays():
                    # The gather copies before the store, and write <= every source index, so
                    # no row is overwritten before it has been moved.
                    array[write:write + len(index)] = array[index]
                write += len(index)
            self._alive[write:n] = False
            self._n = write
            self._dead = 0
            if len(self._scales) > max(_MIN_CAPACITY, 2 * write):
                self._resize(write + write // 4)

    # ----------------------------------------------------------------- querying

    def mask_for(
        self,
        *,
        media_ids: np.ndarray | None = None,
        kind: str | None = None,
        after: float | None = None,
        before: float | None = None,
    ) -> np.ndarray | None:
        """Rows passing every given filter (``after <= date < before``), or None when none is given."""
        if media_ids is None and kind is None and after is None and before is None:
            return None
        with self.lock:
            n = self._n
            mask = np.ones(n, np.bool_)
            if media_ids is not None:
                mask &= np.isin(self._media[:n], np.asarray(media_ids, dtype=np.int64))
            if kind is not None:
                if kind not in _KIND_CODES:
                    raise ValueError(f"unknown media kind {kind!r}; expected one of {', '.join(MEDIA_KINDS)}")
                mask &= self._kinds[:n] == _KIND_CODES[kind]
            if after is not None:
                mask &= self._dates[:n] >= after
            if before is not None:
                mask &= self._dates[:n] < before
            return mask

    def search(self, query: np.ndarray, k: int, *, mask: np.ndarray | None = None) -> MatrixHits:
        """The ``k`` best rows by cosine (``query`` must be L2-normalised float32 of length dim)."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim,):
            raise ValueError(f"query has {query.size} values, the matrix holds {self.dim}-dim vectors")
        if mask is not None:
            mask = np.asarray(mask, dtype=np.bool_)
        with self.lock:
            n = self._n
            if mask is not None and mask.shape != (n,):
                raise ValueError(f"mask has shape {mask.shape}, the matrix has {n} rows; rebuild it after refresh()")
            allowed = self._alive[:n] if self._dead else None
            if mask is not None:
                allowed = mask if allowed is None else mask & allowed
            count = n if allowed is None else int(np.count_nonzero(allowed))
            k = min(k, count)
            if k <= 0:
                return MatrixHits.empty()

            subset: np.ndarray | None = None
            if allowed is not None and count <= n * _SUBSET_FRACTION:
                subset = np.flatnonzero(allowed)
                scores = self._approximate_scores(self._codes[subset], self._scales[subset], query)
            else:
                scores = self._approximate_scores(self._codes[:n], self._scales[:n], query)
                if allowed is not None:
                    scores[~allowed] = -np.inf

            wanted = min(count, max(_RERANK_FACTOR * k, _RERANK_MIN))
            if wanted < len(scores):
                local = np.argpartition(scores, len(scores) - wanted)[len(scores) - wanted:]
            else:
                local = np.arange(len(scores))
                if allowed is not None and subset is None:
                    local = local[allowed]
            rows = local if subset is None else subset[local]
            exact = self._exact_scores(rows, query)
            order = np.lexsort((rows, -exact))[:k]  # best score first, ties by row
            rows = rows[order]
            return MatrixHits(
                rows=rows.astype(np.int64, copy=False),
                scores=exact[order],
                embedding_ids=self._ids[rows].copy(),
                media_ids=self._media[rows].copy(),
                timestamps=self._times[rows].copy(),
            )

    def _approximate_scores(self, codes: np.ndarray, scales: np.ndarray, query: np.ndarray) -> np.ndarray:
        peak = float(np.abs(query).max())
        if peak == 0.0:
            return np.zeros(len(codes), np.float32)
        query_scale = peak / 127.0
        query_codes = np.rint(query / query_scale).astype(np.int8).reshape(-1, 1)
        dots = _int8_session().run(None, {"A": codes, "B": query_codes, "A_ZERO": _ZERO_POINT_ARRAY})[0]
        scores = dots.reshape(-1).astype(np.float32)
        scores *= scales
        scores *= np.float32(query_scale)
        return scores

    def _exact_scores(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Float32 query against the dequantised rows: only the row quantisation error remains.

        In chunks, so that a very large k never materialises a float32 copy of the matrix.
        """
        out = np.empty(len(rows), np.float32)
        for begin in range(0, len(rows), _RESCORE_CHUNK):
            part = rows[begin:begin + _RESCORE_CHUNK]
            vectors = self._codes[part].astype(np.float32)
            vectors -= _ZERO_POINT
            np.multiply(vectors @ query, self._scales[part], out=out[begin:begin + len(part)])
        return out


_ZERO_POINT_ARRAY = np.array(_ZERO_POINT, dtype=np.uint8)


def _pick(indices: list[int], values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(values[i] for i in indices)


def _quantize(vectors: np.ndarray, codes_out: np.ndarray, scales_out: np.ndarray) -> None:
    """Symmetric per-row int8 (``vector ~= scale * (code - 128)``), written into the given slices."""
    peak = np.abs(vectors).max(axis=1)
    scales = peak / np.float32(127.0)
    scales[scales == 0] = 1.0
    scaled = vectors / scales[:, None]
    np.rint(scaled, out=scaled)
    np.clip(scaled, -127, 127, out=scaled)
    scaled += _ZERO_POINT
    np.copyto(codes_out, scaled, casting="unsafe")
    scales_out[:] = scales


def _default_threads() -> int:
    # A GEMV over int8 is memory-bound: more than a few threads only add contention.
    return max(1, min(os.cpu_count() or 1, 4))


@functools.lru_cache(maxsize=1)
def _int8_session() -> Any:
    """onnxruntime session computing ``(A - A_ZERO) @ B`` for uint8 A [n, d] and int8 B [d, 1].

    Built once per process from a three-line graph, so no model file ships for it.
    """
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "A_ZERO"], ["Y"])],
        "mediaseek_int8_scores",
        [
            helper.make_tensor_value_info("A", TensorProto.UINT8, ["n", "d"]),
            helper.make_tensor_value_info("B", TensorProto.INT8, ["d", 1]),
            helper.make_tensor_value_info("A_ZERO", TensorProto.UINT8, []),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, ["n", 1])],
    )
    # IR version 8 / opset 17: old enough for any onnxruntime we support, MatMulInteger is opset 10.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = _default_threads()
    options.inter_op_num_threads = 1
    # Do not let idle worker threads spin after a query: the indexer and the UI need those cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
