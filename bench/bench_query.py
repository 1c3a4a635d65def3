"""Warm text query latency end to end through the service layer.

    .venv/bin/python bench/bench_query.py [--sizes 10000 100000 1000000] [--arch ViT-B-32]

Per size: a library.db with N stored vectors (random, the real model's width), the real
exported model's text encoder, then ``Library.search`` as the app calls it — tokenize,
encode, refresh the matrix, score, group, fetch paths. Target: <= 50 ms at 100k,
<= 150 ms at 1M (2 cores); matrix <= 1.1 KB per item.
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from common import exported_model

QUERIES = [
    "kids on a beach at sunset", "receipt from the hardware store", "the moment the cake comes out",
    "a dog running in the snow", "mountains reflected in a lake", "a red car parked outside",
    "birthday party with balloons", "a cat sleeping on a sofa", "city skyline at night",
    "flowers in a garden", "people hiking in the forest", "a plate of pasta",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from app.library import Library, SearchFilters
    from app.paths import AppPaths
    from bench_search import build_library

    model_dir = exported_model(args.arch)
    print(f"{'items':>9} {'build s':>8} {'first query s':>14} {'p50 ms':>7} {'p95 ms':>7} {'text ms':>8} "
          f"{'matrix B/item':>14}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            shutil.copytree(model_dir, home / "models" / args.arch)
            (home / "config.json").write_text(f'{{"active_model": "{args.arch}"}}')
            dim = int(__import__("json").loads((model_dir / "manifest.json").read_text())["embed_dim"])
            planted = np.zeros(dim, np.float32)
            planted[0] = 1.0
            _, build_seconds = build_library(home / "library.db", n, dim, seed=0, planted_query=planted)
            with sqlite3.connect(home / "library.db") as conn:
                conn.execute("UPDATE models SET name = ?", (args.arch,))
            lib = Library(AppPaths(home, home / "cache", home / "logs"), providers=["CPUExecutionProvider"])
            started = time.perf_counter()
            lib.warm_up()  # what the app does at start, in the background
            first = time.perf_counter() - started
            times, text_times = [], []
            clip = lib.clip()
            for _ in range(args.repeats):
                for query in QUERIES:
                    t0 = time.perf_counter()
                    results = lib.search(query, SearchFilters(limit=50))
                    times.append(time.perf_counter() - t0)
                    assert len(results) == 50
                    t0 = time.perf_counter()
                    clip.text.encode(query)
                    text_times.append(time.perf_counter() - t0)
            per_item = lib._matrix.nbytes / n
            lib.close()
        ms = np.array(times) * 1000
        print(f"{n:>9} {build_seconds:>8.1f} {first:>14.2f} {np.median(ms):>7.1f} {np.percentile(ms, 95):>7.1f} "
              f"{np.median(text_times) * 1000:>8.1f} {per_item:>14.0f}")


if __name__ == "__main__":
    main()
