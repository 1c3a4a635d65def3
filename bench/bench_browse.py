"""Browsing a 100,000-file library without a query: first page, a deep page (a month jump near the
end), the month list, the sidebar's per-folder progress. Prints milliseconds (median of 5).

    python bench/bench_browse.py [--files 100000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from app.browse import BrowseScope, browse_page, folder_progress, month_buckets  # noqa: E402
from db import Database, Media, Root  # noqa: E402


def fill(db: Database, files: int) -> None:
    start = 1_400_000_000.0  # 2014
    span = 10 * 365 * 86400
    with db.session() as session:
        session.execute(insert(Root), [{"id": 1, "path": "/photos", "added_at": 0.0}])
        rows = [{"root_id": 1, "path": f"/photos/{i % 40:02d}/{i // 40:04d}/IMG_{i:06d}.jpg", "kind": "photo" if i % 20 else "video",
                 "size": 1000, "mtime_ns": 0, "status": "indexed" if i % 50 else "failed",
                 "date": start + (i * 7919 % files) / files * span, "width": 4000, "height": 3000,
                 "duration": None if i % 20 else 12.0} for i in range(files)]
        for i in range(0, files, 10_000):
            session.execute(insert(Media), rows[i:i + 10_000])


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(Path(tmp) / "library.db")
        t = time.perf_counter()
        fill(db, args.files)
        print(f"library: {args.files:,} files written in {time.perf_counter() - t:.1f} s")
        everything = BrowseScope()
        folder = BrowseScope(folder="/photos/07")
        months = month_buckets(db, everything)
        deep = months[-1].offset
        print(f"first page (600), everything:     {timed(lambda: browse_page(db, everything, 0, 600)):7.1f} ms")
        print(f"page at row {deep:,} (a month jump): {timed(lambda: browse_page(db, everything, deep, 600)):7.1f} ms")
        print(f"first page (600), one folder:     {timed(lambda: browse_page(db, folder, 0, 600)):7.1f} ms")
        print(f"month list ({len(months)} months):        {timed(lambda: month_buckets(db, everything)):7.1f} ms")
        print(f"per-folder progress (sidebar):    {timed(lambda: folder_progress(db)):7.1f} ms")
        db.close()


if __name__ == "__main__":
    main()
