"""Duplicate grouping time and peak memory on a synthetic library.

    .venv/bin/python bench/bench_duplicates.py [--sizes 10000 100000] [--dim 512]

Per size: a library.db written through the real db layer (schema, migrations) with N photo rows
and N random unit vectors, where every 50th photo has a planted near-copy (cosine about 0.96) and
every 500th an exact copy (same size and fingerprint). Then ``app.duplicates.find_duplicates`` runs
as the CLI runs it, in a fresh process so that its peak RSS is its own. The files do not exist, so
the pixel check and the full hash fail fast on each candidate: the figure is the cost of reading
the vectors and finding candidate pairs (the part that grows with the library), plus per-candidate
overhead. Target: <= 10 s at 100k on 2 cores. "CPU s" is the process's CPU time over all threads:
on a shared machine it shows what the wall time would be if the cores were free (about half).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NEAR_EVERY = 50
EXACT_EVERY = 500
CHUNK = 8192


def build(home: Path, n: int, dim: int, seed: int = 0) -> tuple[int, float]:
    """Write the library; returns (planted near pairs, seconds)."""
    from db import Database

    (home / "models" / "bench").mkdir(parents=True)
    (home / "models" / "bench" / "manifest.json").write_text("{}")  # grouping never loads the model
    (home / "config.json").write_text(json.dumps({"active_model": "bench"}))
    started = time.perf_counter()
    db = Database.open(home / "library.db")
    rng = np.random.default_rng(seed)
    planted = 0
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("INSERT INTO roots (path, added_at) VALUES (?, 0)", (b"/bench",))
        raw.execute("INSERT INTO models (name, embed_dim, created_at) VALUES ('bench', ?, 0)", (dim,))
        model_id = raw.execute("SELECT id FROM models").fetchone()[0]
        for start in range(0, n, CHUNK):
            ids = np.arange(start + 1, min(start + CHUNK, n) + 1)
            x = rng.standard_normal((len(ids), dim)).astype(np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            near = np.flatnonzero((ids % NEAR_EVERY == 0) & (ids > 1))
            near = near[near > 0]  # the partner is the previous row of the same chunk
            x[near] = x[near - 1] + 0.28 * rng.standard_normal((len(near), dim)).astype(np.float32) / np.sqrt(dim)
            x[near] /= np.linalg.norm(x[near], axis=1, keepdims=True)
            planted += len(near)
            sizes = rng.integers(200_000, 6_000_000, len(ids))
            fps = [f"{i:032x}" for i in ids.tolist()]
            for k in np.flatnonzero(ids % EXACT_EVERY == 0).tolist():
                if k > 0:
                    sizes[k], fps[k] = sizes[k - 1], fps[k - 1]
            raw.executemany(
                "INSERT INTO media (id, root_id, path, kind, size, mtime_ns, fingerprint, status, width, height, date)"
                " VALUES (?, 1, ?, 'photo', ?, 1, ?, 'indexed', 4032, 3024, 1.6e9)",
                zip(ids.tolist(), (b"/bench/%08d.jpg" % i for i in ids.tolist()), sizes.tolist(), fps))
            raw.executemany("INSERT INTO embeddings (media_id, model_id, timestamp, vector) VALUES (?, ?, NULL, ?)",
                            zip(ids.tolist(), [model_id] * len(ids), (row.tobytes() for row in x)))
            raw.commit()
    db.close()
    return planted, time.perf_counter() - started


def measure(home: Path) -> None:
    """In a fresh process: group, print one JSON line of figures."""
    from app.duplicates import find_duplicates
    from app.library import Library
    from app.paths import AppPaths

    import logging

    logging.disable(logging.INFO)
    lib = Library(AppPaths(home, home / "cache", home / "logs"))
    marks: dict[str, float] = {}
    started = time.perf_counter()
    cpu_started = time.process_time()

    def progress(phase: str, done: int, total: int) -> None:
        marks.setdefault(phase, time.perf_counter() - started)

    report = find_duplicates(lib, on_progress=progress)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    lib.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"total_s": total, "vectors_loaded_s": marks.get("compare"), "pairs_found_s": marks.get("pixels"),
                      "candidates": report.candidates, "cpu_s": cpu, "peak_rss_mib": peak}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure)
        return
    print(f"{'items':>8} {'build s':>8} {'planted':>8} {'found':>6} {'load s':>7} {'pairs s':>8} {'total s':>8} "
          f"{'CPU s':>6} {'peak RSS MiB':>13}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="mediaseek-dups-") as tmp:
            home = Path(tmp)
            planted, build_s = build(home, n, args.dim)
            out = subprocess.run([sys.executable, __file__, "--measure", str(home)], capture_output=True, text=True,
                                 check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{n:>8} {build_s:>8.1f} {planted:>8} {figures['candidates']:>6} {figures['vectors_loaded_s']:>7.2f} "
                  f"{figures['pairs_found_s'] or float('nan'):>8.2f} {figures['total_s']:>8.2f} "
                  f"{figures['cpu_s']:>6.1f} {figures['peak_rss_mib']:>13.0f}", flush=True)


if __name__ == "__main__":
    main()
