"""Search matrix benchmark: load time, warm query latency, memory and exactness.

    python bench/bench_search.py --sizes 10000,100000,1000000
    python bench/bench_search.py --compare-kernels --sizes 10000,100000

For each N it builds a temporary library.db holding N random L2-normalised embeddings (plus a
planted set of near-duplicates of one query), loads a SearchMatrix from it, and times queries on
the query vector alone (the text encoder is not part of this figure). Recall@10 compares the top 10
with exact float32 brute force. ``--compare-kernels`` instead times the candidate scoring kernels
in memory, which is how the storage format of db/search_matrix.py was chosen.

Targets (2 cores): warm query <= 50 ms at 100k and <= 150 ms at 1M end to end; <= 1.1 KB/item.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db import Database, SearchMatrix  # noqa: E402

CHUNK = 50_000
PLANTED = 20


def _chunk_vectors(seed: int, index: int, rows: int, dim: int) -> np.ndarray:
    """Deterministic per chunk, so exact scores can be recomputed without keeping N x dim floats."""
    rng = np.random.default_rng([seed, index])
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _vector_chunks(n: int, dim: int, seed: int, planted_query: np.ndarray) -> Iterator[np.ndarray]:
    for index, start in enumerate(range(0, n, CHUNK)):
        x = _chunk_vectors(seed, index, min(CHUNK, n - start), dim)
        if index == 0:  # near-duplicates of the planted query, at decreasing similarity
            rng = np.random.default_rng([seed, 1, 0])
            count = min(PLANTED, len(x))
            noise = rng.standard_normal((count, dim), dtype=np.float32) * np.linspace(0.01, 0.05, count, dtype=np.float32)[:, None]
            near = planted_query[None, :] + noise
            x[:count] = near / np.linalg.norm(near, axis=1, keepdims=True)
        yield x


def _normalised(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def build_library(path: Path, n: int, dim: int, seed: int, planted_query: np.ndarray) -> tuple[int, float]:
    """Bulk insert N media rows and their embeddings; returns (model id, seconds)."""
    db = Database.open(path)
    started = time.perf_counter()
    rng = np.random.default_rng([seed, 2, 0])
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("INSERT INTO roots (path, added_at) VALUES (?, 0)", (b"/bench",))
        raw.execute("INSERT INTO models (name, embed_dim, created_at) VALUES ('bench', ?, 0)", (dim,))
        raw.commit()
        model_id = raw.execute("SELECT id FROM models").fetchone()[0]
        media_id = 0
        for x in _vector_chunks(n, dim, seed, planted_query):
            ids = range(media_id + 1, media_id + 1 + len(x))
            kinds = ["video" if i % 4 == 0 else "photo" for i in ids]
            dates = rng.uniform(1.0e9, 1.7e9, len(x))
            raw.executemany(
                "INSERT INTO media (id, root_id, path, kind, size, mtime_ns, status, date) VALUES (?, 1, ?, ?, 1, 1, 'indexed', ?)",
                zip(ids, (b"/bench/%08d.jpg" % i for i in ids), kinds, dates.tolist()),
            )
            raw.executemany(
                "INSERT INTO embeddings (media_id, model_id, timestamp, vector) VALUES (?, ?, ?, ?)",
                zip(ids, [model_id] * len(x), [1.0 if k == "video" else None for k in kinds], (row.tobytes() for row in x)),
            )
            raw.commit()
            media_id += len(x)
    db.close()
    return model_id, time.perf_counter() - started


def exact_top10(queries: np.ndarray, n: int, dim: int, seed: int, planted_query: np.ndarray) -> list[set[int]]:
    """Exact float32 top-10 media ids (1-based, as inserted) by streaming the regenerated vectors."""
    best_scores = np.full((len(queries), 0), -np.inf, np.float32)
    best_ids = np.zeros((len(queries), 0), np.int64)
    start = 0
    for x in _vector_chunks(n, dim, seed, planted_query):
        scores = queries @ x.T
        ids = np.broadcast_to(np.arange(start + 1, start + 1 + len(x)), scores.shape)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        best_ids = np.concatenate([best_ids, ids], axis=1)
        keep = np.argsort(-best_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
        best_ids = np.take_along_axis(best_ids, keep, axis=1)
        start += len(x)
    return [set(row.tolist()) for row in best_ids]


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3, float(np.percentile(times, 95)) * 1e3


def bench_library(n: int, args: argparse.Namespace) -> None:
    rng = np.random.default_rng([args.seed, 3, 0])
    planted_query = _normalised(rng, 1, args.dim)[0]
    with tempfile.TemporaryDirectory(prefix="mediaseek-bench-") as tmp:
        path = Path(tmp) / "library.db"
        model_id, insert_s = build_library(path, n, args.dim, args.seed, planted_query)
        db = Database.open(path)
        matrix = SearchMatrix(db, model_id, args.dim)
        started = time.perf_counter()
        matrix.refresh()
        load_s = time.perf_counter() - started
        noop_ms, _ = _timed(matrix.refresh, 10)

        queries = _normalised(rng, args.queries, args.dim)
        latencies = []
        for q in queries:
            started = time.perf_counter()
            matrix.search(q, args.k)
            latencies.append(time.perf_counter() - started)
        p50, p95 = np.median(latencies) * 1e3, np.percentile(latencies, 95) * 1e3
        photos = matrix.mask_for(kind="photo")
        masked_p50, _ = _timed(lambda: matrix.search(queries[0], args.k, mask=photos), 10)

        probe = np.vstack([planted_query[None, :], queries[: args.recall_queries]])
        exact = exact_top10(probe, n, args.dim, args.seed, planted_query)
        found = [set(matrix.search(q, 10).media_ids.tolist()) for q in probe]
        planted_recall = len(found[0] & exact[0]) / 10
        recall = np.mean([len(f & e) / 10 for f, e in zip(found[1:], exact[1:])])
        print(
            f"{n:>9,} | {insert_s:8.1f} | {load_s:6.2f} | {matrix.nbytes / 2**20:7.1f} | {matrix.nbytes / n:6.0f} | "
            f"{noop_ms:7.2f} | {p50:7.1f} | {p95:7.1f} | {masked_p50:7.1f} | {recall:9.3f} | {planted_recall:7.2f}",
            flush=True,
        )
        db.close()


def compare_kernels(n: int, args: argparse.Namespace) -> None:
    """Candidate storage formats and scoring kernels, in memory, against exact float32."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    dim = args.dim
    rng = np.random.default_rng([args.seed, 4, 0])
    planted_query = _normalised(rng, 1, dim)[0]
    x = np.concatenate(list(_vector_chunks(n, dim, args.seed, planted_query)))
    queries = np.vstack([planted_query[None, :], _normalised(rng, args.recall_queries, dim)])
    exact = [set(np.argpartition(-(x @ q), 10)[:10].tolist()) for q in queries]

    scale = np.abs(x).max(axis=1) / 127
    s8 = np.rint(x / scale[:, None]).astype(np.int8)
    u8 = (s8.astype(np.int16) + 128).astype(np.uint8)
    f16 = x.astype(np.float16)

    def session(nodes: list, inputs: list, out_type: int) -> ort.InferenceSession:
        graph = helper.make_graph(nodes, "k", inputs, [helper.make_tensor_value_info("Y", out_type, ["n", 1])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(os.cpu_count() or 1, 4)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    info = helper.make_tensor_value_info
    t = TensorProto
    mmi_s8 = session([helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], [info("A", t.INT8, ["n", dim]), info("B", t.INT8, [dim, 1])], t.INT32)
    mmi_u8 = session(
        [helper.make_node("MatMulInteger", ["A", "B", "Z"], ["Y"])],
        [info("A", t.UINT8, ["n", dim]), info("B", t.INT8, [dim, 1]), info("Z", t.UINT8, [])],
        t.INT32,
    )
    mm_f16 = session([helper.make_node("MatMul", ["A", "B"], ["Y"])], [info("A", t.FLOAT16, ["n", dim]), info("B", t.FLOAT16, [dim, 1])], t.FLOAT16)
    zero = np.array(128, np.uint8)

    def q8(q: np.ndarray) -> tuple[np.ndarray, float]:
        s = float(np.abs(q).max()) / 127
        return np.rint(q / s).astype(np.int8).reshape(-1, 1), s

    def numpy_chunks(stored: np.ndarray, q: np.ndarray) -> np.ndarray:
        out = np.empty(len(stored), np.float32)
        for begin in range(0, len(stored), 8192):
            out[begin:begin + 8192] = stored[begin:begin + 8192].astype(np.float32) @ q
        return out

    def int8_s8s8(q: np.ndarray) -> np.ndarray:
        qi, s = q8(q)
        return mmi_s8.run(None, {"A": s8, "B": qi})[0][:, 0] * (scale * s)

    def int8_u8s8(q: np.ndarray) -> np.ndarray:
        qi, s = q8(q)
        return mmi_u8.run(None, {"A": u8, "B": qi, "Z": zero})[0][:, 0] * (scale * s)

    candidates: list[tuple[str, Callable[[np.ndarray], np.ndarray], int, bool]] = [
        ("float32 numpy sgemv", lambda q: x @ q, x.nbytes, False),
        ("float16 numpy cast chunks", lambda q: numpy_chunks(f16, q), f16.nbytes, True),
        ("float16 ORT MatMul", lambda q: mm_f16.run(None, {"A": f16, "B": q.astype(np.float16)[:, None]})[0][:, 0].astype(np.float32), f16.nbytes, False),
        ("int8 numpy cast chunks", lambda q: numpy_chunks(s8, q) * scale, s8.nbytes + scale.nbytes, True),
        ("int8 ORT MatMulInteger s8s8", int8_s8s8, s8.nbytes + scale.nbytes, False),
        ("int8 ORT MatMulInteger u8s8", int8_u8s8, u8.nbytes + scale.nbytes, False),
    ]
    for name, fn, nbytes, slow in candidates:
        if slow and n > 200_000:
            continue
        cpu = []
        wall = []
        fn(queries[1])
        for q in queries[1:]:
            c, w = time.process_time(), time.perf_counter()
            fn(q)
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
        hits = [set(np.argpartition(-fn(q), 10)[:10].tolist()) for q in queries]
        recall = np.mean([len(h & e) / 10 for h, e in zip(hits[1:], exact[1:])])
        print(
            f"{n:>9,} | {name:28s} | {np.median(wall) * 1e3:8.1f} | {np.median(cpu) * 1e3:8.1f} | {nbytes / n:6.0f} | "
            f"{recall:9.3f} | {len(hits[0] & exact[0]) / 10:7.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated N (default %(default)s)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=10, help="top-k per query (default %(default)s)")
    parser.add_argument("--queries", type=int, default=30, help="timed queries per size (default %(default)s)")
    parser.add_argument("--recall-queries", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-kernels", action="store_true", help="time candidate kernels in memory instead")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    print(f"cpu cores: {os.cpu_count()}, dim {args.dim}, k {args.k}")
    if args.compare_kernels:
        print(f"{'N':>9} | {'kernel':28s} | {'wall ms':>8} | {'cpu ms':>8} | {'B/item':>6} | {'recall@10':>9} | planted")
        for n in sizes:
            compare_kernels(n, args)
        return
    print(
        f"{'N':>9} | {'insert s':>8} | {'load s':>6} | {'MB':>7} | {'B/item':>6} | {'noop ms':>7} | "
        f"{'p50 ms':>7} | {'p95 ms':>7} | {'mask ms':>7} | {'recall@10':>9} | planted"
    )
    for n in sizes:
        bench_library(n, args)


if __name__ == "__main__":
    main()
