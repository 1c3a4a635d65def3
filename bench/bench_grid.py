"""Thumbnail grid benchmark: laying out 100,000 items in day sections, and scrolling through them.

    python bench/bench_grid.py [--items 100000] [--jumps 50] [--wheel 200]

1. Layout: ``ui.grid_layout`` for N items under several day distributions (reading the dates'
   day/month keys, then the geometry), median of 5 runs each.
2. The real ``ResultsView`` (offscreen Qt, 1600×1000) on a ``ResultsModel`` of N date-ordered
   results whose thumbnails are all in memory (a fake loader: this measures the grid, not JPEG
   decoding): the reset that lays it out, an appended page of 600, then jumps to random months
   (scroll so the title is at the top, then paint) and wheel scrolling, each frame timed.

Prints figures; no asserts on time (target: a frame well under 16 ms, layout well under 50 ms).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DAY = 86400.0
NOW = 1.75e9


def distributions(n: int, rng) -> dict[str, list]:
    """Dates newest first, as the browse grid shows them."""
    out = {
        "1 per day": [NOW - i * DAY for i in range(n)],
        "~30 per day": list(NOW - np.sort(rng.random(n)) * (n / 30) * DAY),
        "bursts (trips)": list(NOW - np.sort(np.repeat(rng.random(n // 50 + 1) * 3650, 50)
                                              + rng.random((n // 50 + 1) * 50) * 2)[:n] * DAY),
        "10 years, 5% undated": list(NOW - np.sort(rng.random(n)) * 3650 * DAY),
        "one day": [NOW] * n,
    }
    undated = out["10 years, 5% undated"]
    for i in range(int(n * 0.95), n):
        undated[i] = None
    for key, dates in out.items():
        out[key] = [float(d) if d is not None else None for d in dates][:n]
    return out


def bench_layout(n: int) -> None:
    from ui.grid_layout import GridLayout, Metrics, date_keys

    metrics = Metrics(columns=7, cell_w=184, cell_h=206, day_h=28, month_h=40, left=2)
    rng = np.random.default_rng(0)
    print(f"layout of {n:,} items, 7 columns (median of 5):")
    for name, dates in distributions(n, rng).items():
        keys_ms, layout_ms = [], []
        for _ in range(5):
            started = time.perf_counter()
            days, months = date_keys(dates)
            middle = time.perf_counter()
            lay = GridLayout(n, metrics, days, months)
            keys_ms.append((middle - started) * 1000)
            layout_ms.append((time.perf_counter() - middle) * 1000)
        print(f"  {name:22s} {len(lay.section_y):7,} days {len(lay.month_y):5,} months: "
              f"keys {statistics.median(keys_ms):5.1f} ms + layout {statistics.median(layout_ms):5.1f} ms")
    started = time.perf_counter()
    for _ in range(5):
        GridLayout(n, metrics)
    print(f"  {'no sections':22s} layout {(time.perf_counter() - started) * 200:5.1f} ms")


def bench_view(n: int, jumps: int, wheel: int) -> None:
    from PySide6.QtCore import QObject, QPoint, QPointF, Qt, Signal
    from PySide6.QtGui import QColor, QPixmap, QWheelEvent
    from PySide6.QtWidgets import QApplication

    from app.library import SearchResult
    from ui.results_model import ResultsModel
    from ui.results_view import ResultsView

    app = QApplication.instance() or QApplication([])

    class MemoryLoader(QObject):
        """Every thumbnail already in memory."""
        ready = Signal(object)
        failed = Signal(object, str)

        def __init__(self) -> None:
            super().__init__()
            self.device_pixel_ratio = 1.0
            self.pixmaps = []
            for colour in ("#c33", "#36c", "#3a6", "#cc3"):
                pixmap = QPixmap(256, 192)
                pixmap.fill(QColor(colour))
                self.pixmaps.append(pixmap)

        def pixmap(self, key):
            return self.pixmaps[key.media_id % 4]

        def failure(self, key):
            return None

        def forget_queue(self) -> None:
            pass

    dates = distributions(n + 600, np.random.default_rng(1))["~30 per day"]
    results = [SearchResult(f"/photos/{i:06d}.jpg", 0.0, "photo", media_id=i, date=d) for i, d in enumerate(dates)]
    model = ResultsModel(MemoryLoader())
    model.browsing = model.sectioned = True
    view = ResultsView()
    view.setModel(model)
    view.resize(1600, 1000)
    view.show()
    app.processEvents()
    started = time.perf_counter()
    model.set_results(results[:n], more_available=True)
    view.viewport().repaint()
    print(f"grid of {n:,} sectioned results at 1600×1000 ({view.layout_.columns} columns, "
          f"{len(view.layout_.section_y):,} days): reset + layout + first paint "
          f"{(time.perf_counter() - started) * 1000:.1f} ms")
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    before = bar.value()
    started = time.perf_counter()
    model.set_results(results, more_available=False, appended=True)
    app.processEvents()
    print(f"  appended page of 600: {(time.perf_counter() - started) * 1000:.1f} ms (scroll kept: "
          f"{'yes' if bar.value() == before else f'no, {before} -> {bar.value()}'})")

    rng = np.random.default_rng(2)
    months = view.layout_.month_sections
    frames = []
    for s in rng.choice(months, size=min(jumps, len(months)), replace=False):
        first = int(view.layout_.section_first[s])
        started = time.perf_counter()
        view.scrollTo(model.index(first), view.ScrollHint.PositionAtTop)
        app.processEvents()  # the paint the scroll asked for
        frames.append((time.perf_counter() - started) * 1000)
    print(f"  {len(frames)} jumps to a month (scroll + paint): median {statistics.median(frames):.1f} ms, "
          f"worst {max(frames):.1f} ms")
    frames = []
    port = view.viewport()
    centre = QPointF(port.width() / 2, port.height() / 2)
    for i in range(wheel):
        delta = -120 if (i // 50) % 2 == 0 else 120
        event = QWheelEvent(centre, QPointF(port.mapToGlobal(centre.toPoint())), QPoint(), QPoint(0, delta),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        started = time.perf_counter()
        QApplication.sendEvent(port, event)
        app.processEvents()  # the paint the scroll asked for (the strip that came in)
        frames.append((time.perf_counter() - started) * 1000)
    print(f"  {wheel} wheel steps (scroll + paint): median {statistics.median(frames):.1f} ms, "
          f"worst {max(frames):.1f} ms, p95 {float(np.percentile(frames, 95)):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--jumps", type=int, default=50)
    parser.add_argument("--wheel", type=int, default=200)
    args = parser.parse_args()
    bench_layout(args.items)
    bench_view(args.items, args.jumps, args.wheel)


if __name__ == "__main__":
    main()
